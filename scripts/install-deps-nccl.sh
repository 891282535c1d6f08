#!/usr/bin/env bash
# What the NCCL probe's tests (tests/probes/nccl/nccl_probe.cmake) need on Debian 12, as
# root or with sudo.  Idempotent.  No GPU and no NCCL are needed: the tests
# build a stand-in libnccl (over TCP) and libcuda.  libpcap is dlopen'ed by
# the probe (libpcap.so.0.8) for the loopback capture test, which SKIPs
# (exit 77) without root / CAP_NET_RAW.
set -euo pipefail

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

pkgs=(libpcap0.8 libcmocka-dev libjansson-dev)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps-nccl: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
