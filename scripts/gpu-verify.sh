#!/usr/bin/env bash
# Everything preflight does on a GPU, in one run, for the GPU machine.
#
#   scripts/gpu-verify.sh BUILD_DIR VENV OUT_DIR
#
# BUILD_DIR was configured with -DPF_TESTS=ON on a development machine whose
# checkout lives at /work/main (the test binaries carry that path); on the GPU
# machine this script points /work/main at the current checkout so they find
# their sources.  Logs and JSON records go to OUT_DIR; docs/GPU-VERIFICATION.md
# quotes them.
set -u
B=$(cd "${1:?build dir}" && pwd); V=${2:?venv}; O=${3:?out dir}
mkdir -p "$O"
here=$(pwd)
[ -e /work/main ] || { mkdir -p /work && ln -sfn "$here" /work/main; }
export LD_LIBRARY_PATH="$B/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
PF="$B/preflight"
SP=$(ls -d "$V"/lib/python3*/site-packages | head -1)
step() { echo; echo "=== $*"; }
# t LABEL CMD...: wall time of CMD (bash builtin, so nothing extra is needed there)
t() { local label=$1; shift; TIMEFORMAT="$label: %R s"; time "$@"; }
{
step "machine"; nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.used,memory.total --format=csv
"$V/bin/python" -c 'import torch,triton;print("torch",torch.__version__,"triton",triton.__version__,"nccl",torch.cuda.nccl.version())'
step "ctest (all tests, on the GPU machine)"
(cd "$B" && PF_PTXAS_TRITON_VENV="$V" PF_TEST_VENV="$V" \
   PF_TEST_LIBNCCL=$(ls "$SP"/nvidia/nccl/lib/libnccl.so.2) ctest --output-on-failure -j8 2>&1 | tail -60)
step "preflight check on the H100 (local devices)"
"$PF" check -v --venv "$V" --json "$O/check-h100.json"; echo "exit=$?"
step "preflight check --arch 11.0 (Thor)"
"$PF" check --venv "$V" --arch 11.0 --json "$O/check-thor.json"; echo "exit=$?"
step "preflight check --arch 12.1 (GB10)"
"$PF" check -q --venv "$V" --arch 12.1; echo "exit=$?"
step "toolchain.ptxas with the remedy applied"
TRITON_PTXAS_BLACKWELL_PATH=/usr/local/cuda/bin/ptxas "$PF" check --only toolchain.ptxas --venv "$V" --arch 11.0; echo "exit=$?"
step "preflight kernels on the venv"
"$PF" kernels --venv "$V"; echo "exit=$?"
"$PF" kernels --venv "$V" --arch 11.0 -q; echo "exit=$?"
step "inventory vs cuobjdump"
PREFLIGHT="$PF kernels" scripts/compare-cuobjdump.sh "$SP/torch/lib/libtorch_cuda.so" "$SP/nvidia" 2>&1 | tail -25
PREFLIGHT="$PF kernels" scripts/compare-cuobjdump.sh /usr/local/cuda/lib64 2>&1 | tail -20
step "scan speed vs cuobjdump on /usr/local/cuda/lib64 (warm)"
cat /usr/local/cuda/lib64/*.so* >/dev/null
for i in 1 2 3; do t "preflight kernels" "$PF" kernels --arch 9.0 -q /usr/local/cuda/lib64 >/dev/null; done
t "cuobjdump --list-elf" sh -c 'for f in /usr/local/cuda/lib64/*.so*; do cuobjdump --list-elf "$f"; done >/dev/null 2>&1'
t "preflight kernels torch/lib" "$PF" kernels --arch 9.0 -q "$SP/torch/lib" >/dev/null
t "cuobjdump --list-elf libtorch_cuda.so" cuobjdump --list-elf "$SP/torch/lib/libtorch_cuda.so" >/dev/null
step "full preflight check wall time"
for i in 1 2 3; do t "check" "$PF" check -q --venv "$V" >/dev/null; done
step "net: predictions vs NCCL's own log"
scripts/net-verify-real.sh "$B" "$V/bin/python" 2>&1 | tail -60
step "no process left on the GPU"
nvidia-smi --query-compute-apps=pid,name,used_memory --format=csv
} 2>&1 | tee "$O/gpu-verify.log"
