#!/usr/bin/env bash
# What the gpu.kernels tests and scripts need beyond scripts/install-deps.sh --tests
# (Debian 12, as root or with sudo; idempotent).
#   - hyperfine: scripts/bench-kernels.sh (falls back to a `time` loop without it)
#   - the CUDA 13 toolkit (nvcc, /usr/local/cuda/lib64) is NOT installed here: CI images carry
#     it; without it test_fatbin_nvcc and test_fatbin_cudalibs report "skipped" (exit 77).
#   - cuobjdump for scripts/compare-cuobjdump.sh: part of the toolkit; where the toolkit lacks
#     it, `--cuobjdump` installs PyPI's nvidia-cuda-cuobjdump into .venv-cuobjdump/ and prints
#     the CUOBJDUMP=... to use.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! command -v hyperfine >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends hyperfine
fi
# The test suite compares the scanner with cuobjdump (test kernels_vs_cuobjdump).  CUDA 13.0's
# runfile install here has none, so the tests get PyPI's into /opt/preflight-test/cuobjdump.
if ! command -v cuobjdump >/dev/null 2>&1 && [ ! -x /usr/local/cuda/bin/cuobjdump ] &&
   [ -z "$(find /opt/preflight-test/cuobjdump -type f -name cuobjdump 2>/dev/null | head -1)" ]; then
    echo "install-deps-kernels: cuobjdump from PyPI (nvidia-cuda-cuobjdump) into /opt/preflight-test/cuobjdump"
    $SUDO mkdir -p /opt/preflight-test
    $SUDO python3 -m venv /opt/preflight-test/cuobjdump
    $SUDO /opt/preflight-test/cuobjdump/bin/pip install -q nvidia-cuda-cuobjdump ||
        echo "install-deps-kernels: could not install cuobjdump; kernels_vs_cuobjdump will be skipped"
fi
if [ "${1:-}" = "--cuobjdump" ]; then
    v="$here/.venv-cuobjdump"
    [ -x "$v/bin/pip" ] || python3 -m venv "$v"
    "$v/bin/pip" install -q nvidia-cuda-cuobjdump
    bin=$(find "$v" -type f -name cuobjdump | head -1)
    echo "CUOBJDUMP=$bin"
fi
