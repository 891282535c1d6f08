#!/usr/bin/env bash
# What the network tests (tests/probes/net/net.cmake) need on Debian 12, as root or with
# sudo.  Idempotent.  The end-to-end test builds network namespaces with
# veth/bridge/tun links (`ip`), gives the probe its own hostname and
# /etc/hosts (`unshare --uts --mount`, `mount --bind`) and reads the record
# with python3.  Without root it reports SKIPPED (exit 77).
set -euo pipefail

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

pkgs=(iproute2 util-linux mount procps python3)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps-net: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# veth, bridge and tun are built into Debian's kernel or load on demand; say
# so early if this kernel cannot make them (the test then fails loudly).
if [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null; then
    ns="pfdeps$$"
    if ip netns add "$ns" 2>/dev/null; then
        ip netns exec "$ns" ip link add pfv0 type veth peer name pfv1 2>/dev/null ||
            echo "install-deps-net: warning: this kernel cannot create veth links"
        ip netns exec "$ns" ip link add pfbr0 type bridge 2>/dev/null ||
            echo "install-deps-net: warning: this kernel cannot create bridges"
        ip netns del "$ns"
    else
        echo "install-deps-net: warning: cannot create network namespaces here (container without CAP_SYS_ADMIN?)"
    fi
fi
