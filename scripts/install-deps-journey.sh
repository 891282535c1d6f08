#!/usr/bin/env bash
# What the journey test (tests/journey/, scripts/demo-cluster.sh) needs on
# Debian 12, as root.  Idempotent.  The scenario builds network namespaces
# with veth and bridge links (`ip`), gives each node its own hostname in a
# persistent UTS namespace (`unshare`, `nsenter`, `mount`), blocks a port with
# nftables and judges the records with python3.  The real server (llama.cpp's
# llama-server and rpc-server, SmolLM2) comes from install-deps-llama.sh,
# which install-deps.sh --tests runs too.  Without root the test says SKIPPED.
set -euo pipefail

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
pkgs=(iproute2 util-linux mount nftables python3)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps-journey: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "install-deps-journey: iproute2, util-linux, nftables, python3 present"
