#!/usr/bin/env bash
# What the mem.headroom / env.fingerprint tests need beyond scripts/install-deps.sh:
#   binutils  readelf, to compare our build-id reader with binutils' (tests/probes/nccl/test_libnccl.c)
#   gcc       builds the stand-in NCCL/torch/NVML libraries (tests/fixtures/fixtures.cmake), via build-essential
# The CUDA toolkit's libnccl.so.2 (/usr/local/cuda/lib64) is used when present;
# without it that one test reports SKIPPED.  Idempotent.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
missing=()
for p in binutils build-essential; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps-mem: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
