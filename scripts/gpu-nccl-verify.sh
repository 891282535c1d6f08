#!/usr/bin/env bash
# `preflight nccl` on the GPU machine, against torch.distributed on the same
# libnccl and settings, plus the failure cases (docs/GPU-VERIFICATION.md).
#
#   scripts/gpu-nccl-verify.sh PREFLIGHT_BINARY VENV OUT_DIR [LIBDIR]
#
# LIBDIR (optional) holds shared libraries the binary or the probe needs and
# the machine lacks (libpcap.so.0.8 for --capture).  Everything lands in
# OUT_DIR/nccl-gpu.tgz (JSON records, NCCL logs) and OUT_DIR/summary.log.
set -u
PF=$(realpath "${1:?preflight binary}"); V=${2:?venv}; O=${3:?out dir}; L=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
[ -n "$L" ] && export LD_LIBRARY_PATH="$(realpath "$L")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
W="$O/g"; mkdir -p "$W"
SP=$(ls -d "$V"/lib/python3*/site-packages | head -1)
LIB="$SP/nvidia/nccl/lib/libnccl.so.2"
PY="$V/bin/python"
printf 'NCCL_SOCKET_IFNAME=lo\nNCCL_IB_DISABLE=1\nNCCL_P2P_DISABLE=1\nNCCL_SHM_DISABLE=1\n' > "$W/lo.env"
{ cat "$W/lo.env"; echo NCCL_SOCKET_IFNAME=nonexist0; } > "$W/badif.env"
{ cat "$W/lo.env"; echo NCCL_COMM_ID=10.255.255.1:29999; } > "$W/badroot.env"
{ cat "$W/lo.env"; echo NCCL_SOCKET_NTHREADS=four; } > "$W/badval.env"
printf 'NCCL_RUNTIME_CONNECT=0\nNCCL_SOCKET_NTHREADS=2\nNCCL_NSOCKS_PERTHREAD=2\n' > "$W/fallback.env"
t() { local s=$(date +%s%N); "$@"; local rc=$?; echo "[exit $rc, $(( ($(date +%s%N) - s) / 1000000 )) ms]"; }
# pf CASE ARGS...: one preflight nccl run, record + logs under $W/CASE
pf() { local c=$1; shift; echo; echo "=== preflight nccl $c: $*"; mkdir -p "$W/$c"
  t timeout -s KILL 170 "$PF" nccl --libnccl "$LIB" "$@" --log-dir "$W/$c" --json "$W/$c.json"; }
# torch N: torch.distributed all-reduce baseline, same env
torch() { local n=$1; shift; echo; echo "=== torch.distributed all_reduce, $n ranks"
  local pids=()
  for ((r = 0; r < n; r++)); do
    env $(cat "$W/lo.env") RANK=$r WORLD_SIZE=$n MASTER_ADDR=127.0.0.1 MASTER_PORT=$((29600 + n)) NCCL_HOSTID=torchhost$r \
      timeout -s KILL 120 "$PY" "$here/nccl-torch-allreduce.py" "$@" >"$W/torch$n.r$r.out" 2>"$W/torch$n.r$r.err" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done; cat "$W/torch$n.r0.out"; }
{
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
"$PY" -c 'import torch;print("torch",torch.__version__,"nccl",torch.cuda.nccl.version())'
ls -la /usr/local/cuda*/lib*/libnccl* "$SP"/nvidia/nccl/lib/ 2>&1 | head
# CASES selects steps (default: all), e.g. CASES="dupgpu overhead"
want() { [ -z "${CASES:-}" ] || [[ " $CASES " == *" $1 "* ]]; }
if want ok; then
pf ok2 --ranks 2 --env-file "$W/lo.env" --expect-ifname lo --expect-transport NET/Socket --capture lo \
   --fallback-env "$W/fallback.env"
torch 2 --min 1024 --max $((256 << 20)) --factor 4
pf ok4 --ranks 4 --env-file "$W/lo.env" --expect-ifname lo --expect-transport NET/Socket --capture lo
pf ok4-nocap --ranks 4 --env-file "$W/lo.env" -q
torch 4 --min 1024 --max $((256 << 20)) --factor 4
fi
if want overhead; then  # capture on/off alternated, same sizes, 4 ranks
for i in 1 2 3 4; do
  pf ovh-cap$i --ranks 4 --env-file "$W/lo.env" -b 64M -e 256M --no-allgather --capture lo -q
  pf ovh-nocap$i --ranks 4 --env-file "$W/lo.env" -b 64M -e 256M --no-allgather -q
done
"$PY" - "$W" <<'PY'
import json, os, statistics, sys
w = sys.argv[1]; res = {"cap": [], "nocap": []}
for i in range(1, 5):
    for k in res:
        p = os.path.join(w, "ovh-%s%d.json" % (k, i))
        if os.path.exists(p):
            ar = json.load(open(p))["nccl"]["all_reduce"]
            res[k].append(ar[-1]["busbw"])
            if k == "cap":
                c = json.load(open(p))["nccl"].get("capture") or {}
                print("  cap%d filter %s, ports %s, lo %s" % (i, (c.get("filter") or "")[:80], c.get("ports_total"),
                      (c.get("interfaces") or {}).get("lo", {}).get("bytes")))
for k, v in res.items():
    print("  busbw at 256 MiB, %-6s %s  median %.3f" % (k, " ".join("%.3f" % x for x in v), statistics.median(v) if v else 0))
if res["cap"] and res["nocap"]:
    print("  capture cost: %.1f %% of the median busbw" % (100 * (1 - statistics.median(res["cap"]) / statistics.median(res["nocap"]))))
PY
fi
if want failures; then
pf badif --ranks 2 --env-file "$W/badif.env"
pf killed --ranks 2 --env-file "$W/lo.env" --inject-kill-rank 1 --inject-kill-after 0.3 --op-timeout 10
pf absent --ranks 3 --env-file "$W/lo.env" --inject-absent-rank 2 --init-timeout 8
pf badroot --ranks 2 --env-file "$W/badroot.env" --init-timeout 8
pf badval --ranks 2 --env-file "$W/badval.env" -e 1M
pf plan-ib --ranks 2 --env-file "$W/lo.env" -e 1M --expect-transport NET/IB --expect-ifname eth0
fi
if want failures2; then
pf dupgpu --ranks 2 --env-file "$W/lo.env" --no-hostid
pf killed4 --ranks 4 --env-file "$W/lo.env" --inject-kill-rank 2 --inject-kill-after 0.2 --op-timeout 10
pf badnet --ranks 2 --env-file "$W/lo.env" --libnccl /nonexistent/libnccl.so.2
pf nogpu --ranks 2 --env-file "$W/lo.env" --libcuda /nonexistent/libcuda.so.1
fi
echo; echo "=== leftover processes on the GPU"; nvidia-smi --query-compute-apps=pid,name --format=csv
} 2>&1 | tee "$O/summary.log"
tar czf "$O/nccl-gpu.tgz" -C "$O" g && rm -rf "$W"
