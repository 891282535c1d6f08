#!/usr/bin/env bash
# preflight cluster --nccl on the GPU machine: 2 and 4 agents on this host,
# each its own NCCL_HOSTID (a pretend node), sharing the one GPU over Socket.
#
#   scripts/gpu-cluster-nccl.sh OUT_DIR
#
# Expects the preflight binary next to it and the shared libraries the machine
# lacks in lib/ beside it (the layout of docs/GPU-VERIFICATION.md's carried
# folder), and the PyTorch venv at /opt/torch/.venv.  Runs and results:
# docs/GPU-VERIFICATION.md (2026-12-05, runs 3-6).
#   CASES="base capture signal compare mismatch" selects steps (default: all;
#   mismatch needs OTHER_NCCL_WHEEL=an nvidia-nccl wheel of another version)
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
want() { [ -z "${CASES:-}" ] || [[ " $CASES " == *" $1 "* ]]; }
printf 'NCCL_RUNTIME_CONNECT=0\nNCCL_SOCKET_NTHREADS=2\nNCCL_NSOCKS_PERTHREAD=2\n' > "$W/fallback.env"
if want base; then
run 2 c2.json "" -b 1M -e 256M -f 4 --nccl-timeout 90
run 4 c4.json "" -b 1K -e 256M -f 4 --nccl-timeout 120
run 2 c2-badif.json "NCCL_SOCKET_IFNAME=nonexist0" -e 1M --nccl-timeout 30
fi
if want capture; then
# the capture and the fallback inside the cluster phase (each agent captures
# its own node's traffic; the fallback is a second round with fallback.env)
run 2 c2-cap.json "" -b 1M -e 64M -f 4 --nccl-timeout 90 --capture lo --fallback-env "$W/fallback.env"
run 4 c4-cap.json "" -b 1K -e 256M -f 4 --nccl-timeout 120 --capture lo
fi
if want compare; then
# the same 4 ranks as local processes of one preflight nccl, same env, for
# the cluster-vs-local busbw question (0.62 vs 0.92 GB/s in run 5)
printf 'NCCL_SOCKET_IFNAME=lo\nNCCL_IB_DISABLE=1\nNCCL_P2P_DISABLE=1\nNCCL_SHM_DISABLE=1\n' > "$W/lo.env"
echo; echo "=== preflight nccl, 4 local ranks -b 1K -e 256M -f 4"
mkdir -p "$W/local4"
s=$(date +%s%N)
timeout -s KILL 150 "$here/preflight" nccl --libnccl "$LIB" --ranks 4 --env-file "$W/lo.env" -b 1K -e 256M -f 4 \
    --log-dir "$W/local4" --json "$O/local4.json" -q
echo "[exit $?, $(( ($(date +%s%N) - s) / 1000000 )) ms]"
echo; echo "=== preflight nccl, 4 local ranks with --capture lo (the BPF filter narrowed to the ranks' ports)"
s=$(date +%s%N)
timeout -s KILL 150 "$here/preflight" nccl --libnccl "$LIB" --ranks 4 --env-file "$W/lo.env" -b 1K -e 256M -f 4 \
    --capture lo --log-dir "$W/local4" --json "$O/local4-cap.json" -q
echo "[exit $?, $(( ($(date +%s%N) - s) / 1000000 )) ms]"
fi
if want signal; then
# SIGTERM to the coordinator in the middle of a real NCCL sweep: exit 3, the
# record kept, and no rank left on the GPU
: > "$W/hosts"
for ((i = 0; i < 2; i++)); do
  printf 'NCCL_SOCKET_IFNAME=lo\nNCCL_IB_DISABLE=1\nNCCL_P2P_DISABLE=1\nNCCL_SHM_DISABLE=1\nNCCL_HOSTID=gpuhost%d\n' $i > "$W/n$i.env"
  echo "n$i env=$W/n$i.env" >> "$W/hosts"
done
echo; echo "=== SIGTERM to preflight cluster --nccl 4 s into the run"
"$here/preflight" cluster --hostfile "$W/hosts" --launcher exec --exec-template 'env {cmd}' --agent-path "$here/preflight" \
    --listen 127.0.0.1 --only gpu.driver --no-pairs --nccl --libnccl "$LIB" -b 1K -e 1G -f 2 --nccl-timeout 120 \
    --json "$O/csig.json" > "$W/csig.out" 2>&1 &
cp=$!
sleep 4; nvidia-smi --query-compute-apps=pid,process_name,used_memory --format=csv,noheader | sed 's/^/  on the GPU before: /'
s=$(date +%s%N); kill -TERM $cp; wait $cp; echo "[exit $?, $(( ($(date +%s%N) - s) / 1000000 )) ms after SIGTERM]"
tail -4 "$W/csig.out"
sleep 1; echo "  on the GPU after: $(nvidia-smi --query-compute-apps=pid --format=csv,noheader | wc -l) processes"
pgrep -af 'preflight (agent|cluster)' | sed 's/^/  left: /'
fi
if want mismatch; then
# Two NCCL versions, each node loading the one its own venv holds (no
# --libnccl: the agent locates it as the server would).  OTHER_NCCL_WHEEL: an
# nvidia-nccl wheel of another version, unpacked into a bare venv for n1.
if [ ! -f "${OTHER_NCCL_WHEEL:-}" ]; then
  echo "=== mismatch: skipped (OTHER_NCCL_WHEEL is not a file)"
else
  V2=$W/venv-other
  /opt/torch/.venv/bin/python -m venv --without-pip "$V2"
  SP2=$(ls -d "$V2"/lib/python3*/site-packages | head -1)
  /opt/torch/.venv/bin/python -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$OTHER_NCCL_WHEEL" "$SP2"
  ls "$SP2"/nvidia/nccl/lib/ "$SP2" | sed 's/^/  n1 venv: /'
  : > "$W/hosts"
  for ((i = 0; i < 2; i++)); do
    printf 'NCCL_SOCKET_IFNAME=lo\nNCCL_IB_DISABLE=1\nNCCL_P2P_DISABLE=1\nNCCL_SHM_DISABLE=1\nNCCL_HOSTID=gpuhost%d\n' $i > "$W/n$i.env"
  done
  echo "n0 env=$W/n0.env venv=/opt/torch/.venv" >> "$W/hosts"
  echo "n1 env=$W/n1.env venv=$V2" >> "$W/hosts"
  echo; echo "=== preflight cluster --nccl, n0 on the torch venv's NCCL, n1 on $(basename "$OTHER_NCCL_WHEEL")"
  s=$(date +%s%N)
  timeout -s KILL 150 "$here/preflight" cluster --hostfile "$W/hosts" --launcher exec --exec-template 'env {cmd}' \
      --agent-path "$here/preflight" --listen 127.0.0.1 --only gpu.driver,env.fingerprint,net.interfaces,net.nccl_ifname,net.transport \
      --no-pairs --nccl -e 1M --nccl-timeout 30 --json "$O/c2-mismatch.json"
  echo "[exit $?, $(( ($(date +%s%N) - s) / 1000000 )) ms]"
  # the control: both nodes on the other version alone (the library itself works)
  sed -i "s|venv=/opt/torch/.venv|venv=$V2|" "$W/hosts"
  echo; echo "=== control: both nodes on $(basename "$OTHER_NCCL_WHEEL")"
  timeout -s KILL 150 "$here/preflight" cluster --hostfile "$W/hosts" --launcher exec --exec-template 'env {cmd}' \
      --agent-path "$here/preflight" --listen 127.0.0.1 --only gpu.driver,env.fingerprint,net.interfaces,net.nccl_ifname,net.transport \
      --no-pairs --nccl -e 1M --nccl-timeout 30 --json "$O/c2-other.json" -q
  echo "[exit $?]"
  for f in /tmp/preflight-agent-nccl.*/nccl.log; do
    [ -f "$f" ] && grep -hE "NCCL version|Mismatched|WARN|version" "$f" | head -6 | sed "s|^|  $f: |"
  done
fi
fi
python3 - "$O" <<'PY'
import json, sys, os
for f in ["c2.json", "c4.json", "c2-badif.json", "c2-cap.json", "c4-cap.json", "local4.json", "local4-cap.json", "csig.json",
          "c2-mismatch.json", "c2-other.json"]:
    p = os.path.join(sys.argv[1], f)
    if not os.path.exists(p): print(f, "missing"); continue
    d = json.load(open(p)); s = d.get("nccl", {})
    print("==", f, "exit", d.get("exit_code"), "incomplete:", d.get("incomplete_reason"))
    for c in d["checks"]:
        if c["id"].startswith(("nccl", "cluster.")): print("  %-6s %-16s %-4s %s" % (c["status"], c["id"], c.get("node") or "", c["summary"][:170]))
        if c["id"] == "nccl.rank": print("         prediction:", json.dumps((c.get("evidence") or {}).get("prediction"))[:300])
        if c["id"] in ("nccl.capture", "nccl.fallback"): print("         evidence:", json.dumps(c.get("evidence"))[:400])
    for r in (s.get("p2p") or [])[:6]: print("  p2p", r.get("from"), "->", r.get("to"), r.get("bytes"), "B", r.get("gbps"), "GB/s wrong", r.get("wrong"))
    for r in (s.get("all_reduce") or [])[-2:]: print("  allreduce", {k: r.get(k) for k in ("bytes", "time_us", "algbw", "busbw", "wrong")})
    print("  wall_s", s.get("wall_s"))
    caps = [("section", s.get("capture"))] + [(c.get("node"), (c.get("evidence") or {}).get("capture")) for c in d["checks"] if c["id"] == "nccl.capture"]
    for who, cap in caps:
        if isinstance(cap, dict):
            print("  capture", who, "filter:", (cap.get("filter") or "")[:160], "ports:", str(cap.get("ports"))[:120],
                  {k: (v.get("bytes"), v.get("other_tcp"), v.get("error")) for k, v in (cap.get("interfaces") or {}).items()})
    for r in s.get("ranks") or []:
        st = {k: round(r[k], 2) for k in ("init_s", "p2p_s", "all_reduce_s", "all_gather_s", "teardown_s") if isinstance(r.get(k), (int, float))}
        rows = [(x.get("bytes"), x.get("iters"), x.get("warmup"), round(x.get("wall_s", 0), 2), round(x.get("busbw", 0), 3)) for x in (r.get("all_reduce") or [])[-3:]]
        lg = r.get("nccl_log") or {}
        print("  rank", r.get("rank"), r.get("host"), "stages", st, "last AR rows (bytes,iters,warm,wall,busbw)", rows)
        print("     log:", json.dumps({k: lg.get(k) for k in ("version", "socket_threads", "socket_socks_per_thread", "channels", "n_channel_lines", "transports", "socket_interfaces", "nnodes", "env")})[:400])
PY
# the NCCL settings each rank's log names (cluster vs local, rank 0)
for f in $(ls -d /tmp/preflight-agent-nccl.*/nccl.log 2>/dev/null | head -2) "$W"/local4/nccl.rank0.log; do
  [ -f "$f" ] || continue
  echo "--- $f"; grep -E "set by environment|threads and|Channel 0[0-3]|nChannels|Algo|algorithm|NET/Socket : Using" "$f" | sort | uniq -c | sort -rn | head -15
done
