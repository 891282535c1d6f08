#!/usr/bin/env bash
# What the serving benchmark (bench/) needs beyond scripts/install-deps.sh.
#   scripts/install-deps-bench.sh                 tests: nothing extra but taskset
#   scripts/install-deps-bench.sh --sglang DIR    also a Python venv at DIR with SGLang's
#                                                 bench_serving, for scripts/bench-client.sh's
#                                                 comparison (downloads ~6 GB, torch included;
#                                                 not needed by the test suite)
# Idempotent; runs as root on Debian 12.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

need=()
command -v taskset >/dev/null || need+=(util-linux)
command -v python3 >/dev/null || need+=(python3)
python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

if [ "${1:-}" = "--sglang" ]; then
    dir=${2:?usage: install-deps-bench.sh --sglang DIR}
    if [ -x "$dir/bin/python" ] && "$dir/bin/python" -c 'import sglang.benchmark.serving' 2>/dev/null; then
        echo "install-deps-bench: $dir already has sglang.benchmark.serving"
        exit 0
    fi
    python3 -m venv "$dir"
    # sglang itself without its server dependencies, then exactly what importing
    # sglang.benchmark.serving pulls in (found by importing until it worked)
    "$dir/bin/pip" install -q --no-deps sglang==0.5.23
    "$dir/bin/pip" install -q aiohttp==3.14.5 msgspec==0.22.0 numpy==2.4.6 orjson==3.13.0 \
        requests==2.34.2 tqdm==4.70.1 transformers==5.23.0 tokenizers==0.23.3 psutil==7.2.2 \
        pybase64==1.5.1 torch==2.15.0 torchvision==0.29.2 pillow==13.0.0 starlette==1.10.0 \
        pyzmq==27.3.0 ipython==9.18.1 datasets==5.2.0 apache-tvm-ffi==0.1.15.post2 \
        sentencepiece==0.2.3 compressed-tensors==0.20.0 gguf==0.19.0
    "$dir/bin/python" -c 'import sglang.benchmark.serving' 2>/dev/null
    echo "install-deps-bench: sglang.benchmark.serving importable from $dir"
fi
