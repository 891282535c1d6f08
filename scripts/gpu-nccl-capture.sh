#!/usr/bin/env bash
# Real NCCL logs and the torch.distributed baseline, on the GPU machine.
#
#   scripts/gpu-nccl-capture.sh VENV OUT_DIR
#
# Runs torch.distributed all-reduce (scripts/nccl-torch-allreduce.py) with 2 and
# 4 ranks sharing the one GPU as separate hosts (NCCL_HOSTID per rank, Socket
# over lo), then failure cases, each with NCCL_DEBUG=INFO into per-rank files
# under OUT_DIR/logs/<case>.<host>.<pid>.  These files are the parser's test
# fixtures (tests/probes/nccl/data/).
set -u
V=${1:?venv}; O=${2:?out dir}
here=$(cd "$(dirname "$0")" && pwd)
PY="$V/bin/python"
mkdir -p "$O/logs"
export NCCL_SOCKET_IFNAME=lo NCCL_IB_DISABLE=1 NCCL_P2P_DISABLE=1 NCCL_SHM_DISABLE=1
export NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,BOOTSTRAP,ENV,NET
export MASTER_ADDR=127.0.0.1
# launch CASE N PORT [extra args]: N ranks, one process each, wait for all (60 s cap)
launch() {
  local c=$1 n=$2 port=$3; shift 3
  echo "=== $c: $n ranks $*"
  local pids=() s=$(date +%s.%N)
  for ((r = 0; r < n; r++)); do
    local extra; eval "extra=\${RANKENV_$r:-}"
    env $extra RANK=$r WORLD_SIZE=$n MASTER_PORT=$port NCCL_HOSTID=${HOSTIDS:-host}$r \
      NCCL_DEBUG_FILE="$O/logs/$c.r$r.%h.%p" timeout -s KILL ${CAP:-90} "$PY" "$here/nccl-torch-allreduce.py" "$@" \
      >"$O/$c.r$r.out" 2>"$O/$c.r$r.err" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; echo "rc=$?"; done
  echo "wall $(echo "$(date +%s.%N) - $s" | bc) s"
  cat "$O/$c.r0.out"; tail -3 "$O/$c.r0.err" "$O/$c.r$((n-1)).err" | cut -c1-300
}
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
"$PY" -c 'import torch;print("torch",torch.__version__,"nccl",torch.cuda.nccl.version())'
launch ok2 2 29501
launch ok4 4 29502
launch ok4-factor2 4 29503 --min 64 --max 4096 --factor 2 --iters 50
# failures
NCCL_SOCKET_IFNAME=nonexist0 CAP=30 launch badif 2 29504 --max 1024
( unset NCCL_HOSTID; export -n NCCL_HOSTID
  for r in 0 1; do RANK=$r WORLD_SIZE=2 MASTER_PORT=29506 NCCL_DEBUG_FILE="$O/logs/dupgpu.r$r.%h.%p" \
    timeout -s KILL 30 "$PY" "$here/nccl-torch-allreduce.py" --max 1024 >"$O/dupgpu.r$r.out" 2>"$O/dupgpu.r$r.err" & done; wait
  echo "=== dupgpu"; tail -3 "$O/dupgpu.r0.err" | cut -c1-300 )
CAP=45 launch killed 2 29507 --die-after 2 --timeout 15
NCCL_COMM_ID=10.255.255.1:29999 NCCL_SOCKET_RETRY_CNT=3 CAP=30 launch badroot 2 29508 --max 1024
# rank 1 is told the root is on a port where nothing listens: connection refused
RANKENV_0=NCCL_COMM_ID=127.0.0.1:29990 RANKENV_1=NCCL_COMM_ID=127.0.0.1:29991 NCCL_SOCKET_RETRY_CNT=3 \
  NCCL_SOCKET_RETRY_SLEEP_MSEC=50 CAP=30 launch refused 2 29509 --max 1024
echo "=== tools"; which gcc cc tcpdump; ls /usr/lib/x86_64-linux-gnu/libpcap* 2>&1 | head -3; id; uname -r
ls -la "$O/logs" | head -50
