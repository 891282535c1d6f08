#!/usr/bin/env bash
# Install what preflight needs on Debian 12 (as root, or with sudo).
#   scripts/install-deps.sh            build and run dependencies
#   scripts/install-deps.sh --tests    plus everything the test suite uses
# Idempotent: packages already present are not fetched again.  Area scripts
# (scripts/install-deps-<area>.sh) add what their tests need.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
with_tests=0
[ "${1:-}" = "--tests" ] && with_tests=1

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

pkgs=(build-essential cmake pkg-config libjansson-dev libcurl4-openssl-dev libpcap-dev libssl-dev python3)
[ $with_tests -eq 1 ] && pkgs+=(libcmocka-dev iproute2 util-linux procps)

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ $with_tests -eq 1 ]; then
    if ! python3 -c 'import jsonschema' 2>/dev/null; then
        echo "install-deps: installing jsonschema (PyPI)"
        python3 -m pip install -q jsonschema 2>/dev/null ||
            python3 -m pip install -q --break-system-packages jsonschema
    fi
    for s in "$here"/install-deps-*.sh; do
        [ -e "$s" ] || continue
        echo "install-deps: $(basename "$s")"
        bash "$s"
    done
fi
