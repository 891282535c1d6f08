#!/usr/bin/env bash
# What the toolchain.ptxas tests need beyond scripts/install-deps.sh --tests.
# Idempotent; run as root on Debian 12 (+ the CUDA 13.0 toolkit image).
#
#  - /bin/sh, sed, tr, sleep: the ptxas stand-ins the tests write (Debian
#    essentials, listed for completeness).
#  - The CUDA toolkit's ptxas at /usr/local/cuda/bin/ptxas: the tests that
#    need the real CUDA 13.0 ptxas skip without it.  It comes with the CUDA
#    image (NVIDIA's apt repository, package cuda-nvcc-13-0), not from here.
#  - A Python venv holding the real Triton 3.6.0 wheel from PyPI, whose
#    bundled ptxas 12.8.93 / ptxas-blackwell 12.9.86 the ptxas_triton test
#    cross-checks the probe against (scripts/ptxas-triton-crosscheck.py).
#    Location: $PF_PTXAS_TRITON_VENV or /opt/preflight-test/triton-3.6.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

need=()
for p in coreutils sed python3-venv; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "install-deps-ptxas: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

[ -x /usr/local/cuda/bin/ptxas ] ||
    echo "install-deps-ptxas: note: no /usr/local/cuda/bin/ptxas; tests needing the real CUDA 13.0 ptxas will skip"

venv=${PF_PTXAS_TRITON_VENV:-/opt/preflight-test/triton-3.6}
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import importlib.metadata as m, sys; sys.exit(m.version("triton") != "3.6.0")' 2>/dev/null; then
    echo "install-deps-ptxas: $venv already has triton 3.6.0"
else
    echo "install-deps-ptxas: creating $venv with triton==3.6.0 (PyPI)"
    $SUDO mkdir -p "$(dirname "$venv")"
    $SUDO python3 -m venv "$venv"
    $SUDO "$venv/bin/pip" install -q triton==3.6.0
fi
