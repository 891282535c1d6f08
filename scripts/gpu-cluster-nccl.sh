#!/usr/bin/env bash
# preflight cluster --nccl on the GPU machine: 2 and 4 agents on this host,
# each its own NCCL_HOSTID (a pretend node), sharing the one GPU over Socket.
#
#   scripts/gpu-cluster-nccl.sh OUT_DIR
#
# Expects the preflight binary next to it and the shared libraries the machine
# lacks in lib/ beside it (the layout of docs/GPU-VERIFICATION.md's carried
# folder), and the PyTorch venv at /opt/torch/.venv.  Runs and results:
# docs/GPU-VERIFICATION.md (2026-12-05, runs 3 and 4).
set -u
here=$(cd "$(dirname "$0")" && pwd); O=${1:?out}
export LD_LIBRARY_PATH="$here/lib"
SP=$(ls -d /opt/torch/.venv/lib/python3*/site-packages | head -1)
LIB="$SP/nvidia/nccl/lib/libnccl.so.2"
W=$(mktemp -d)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
run() { # run N JSON [extra env for node 1] [args]
  local n=$1 j=$2 bad=$3; shift 3
  : > "$W/hosts"
  for ((i = 0; i < n; i++)); do
    printf 'NCCL_SOCKET_IFNAME=lo\nNCCL_IB_DISABLE=1\nNCCL_P2P_DISABLE=1\nNCCL_SHM_DISABLE=1\nNCCL_HOSTID=gpuhost%d\n' $i > "$W/n$i.env"
    [ $i = 1 ] && [ -n "$bad" ] && echo "$bad" >> "$W/n$i.env"
    echo "n$i env=$W/n$i.env" >> "$W/hosts"
  done
  echo; echo "=== preflight cluster --nccl, $n nodes ${bad:+(node n1: $bad)} $*"
  local s=$(date +%s%N)
  timeout -s KILL 150 "$here/preflight" cluster --hostfile "$W/hosts" --launcher exec --exec-template 'env {cmd}' \
      --agent-path "$here/preflight" --listen 127.0.0.1 --only gpu.driver,net.interfaces,net.nccl_ifname,net.transport --no-pairs --nccl --libnccl "$LIB" \
      --json "$O/$j" "$@"
  echo "[exit $?, $(( ($(date +%s%N) - s) / 1000000 )) ms]"
}
run 2 c2.json "" -b 1M -e 256M -f 4 --nccl-timeout 90
run 4 c4.json "" -b 1K -e 256M -f 4 --nccl-timeout 120
run 2 c2-badif.json "NCCL_SOCKET_IFNAME=nonexist0" -e 1M --nccl-timeout 30
python3 - "$O" <<'PY'
import json, sys, os
for f in ["c2.json", "c4.json", "c2-badif.json"]:
    p = os.path.join(sys.argv[1], f)
    if not os.path.exists(p): print(f, "missing"); continue
    d = json.load(open(p)); s = d.get("nccl", {})
    print("==", f, "exit", d.get("exit_code"))
    for c in d["checks"]:
        if c["id"].startswith(("nccl", "cluster.")): print("  %-6s %-16s %-4s %s" % (c["status"], c["id"], c.get("node") or "", c["summary"][:150]))
        if c["id"] == "nccl.rank": print("         prediction:", json.dumps((c.get("evidence") or {}).get("prediction"))[:300])
    for r in (s.get("p2p") or [])[:6]: print("  p2p", r.get("from"), "->", r.get("to"), r.get("bytes"), "B", r.get("gbps"), "GB/s wrong", r.get("wrong"))
    for r in (s.get("all_reduce") or [])[-2:]: print("  allreduce", {k: r.get(k) for k in ("bytes", "time_us", "algbw", "busbw", "wrong")})
PY
