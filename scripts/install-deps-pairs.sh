#!/usr/bin/env bash
# What the pair tests (tests/cluster/pairs.cmake) and scripts/bench-pairs.sh
# need on Debian 12, as root or with sudo.  Idempotent.  The namespace test
# wires two network namespaces with veth links (`ip`), injects faults with
# nftables, and scripts/bench-pairs.sh compares with iperf3.  Without root the
# namespace test reports SKIPPED (exit 77).
set -euo pipefail

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

pkgs=(iproute2 nftables iperf3 python3)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps-pairs: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
