#!/bin/sh
# The signal policy (core/sig.h) on `preflight cluster` and `preflight
# agent`, with real signals, real agents (--launcher exec on this host) and
# the stand-in libnccl/libcuda (tests/probes/nccl/):
#   1. SIGTERM to the coordinator while a rank hangs in the NCCL phase:
#      exit 3 within seconds (not at the 30 s rank deadline), the record
#      written and marked interrupted naming the signal and the phase, the
#      node checks kept, no check failing because of the stop, and no agent
#      or rank process left
#   2. SIGTERM to one agent while its rank hangs: that agent kills its rank,
#      tells the coordinator and exits; the record names "stopped by SIGTERM"
#      on that node, the run completes
#   3. SIGTERM to one agent during its node checks (a ptxas that hangs):
#      the checks child is stopped at once, the node is named
#   4. SIGTERM then SIGINT to the coordinator: the second signal exits at
#      once (130) and takes every agent's process group with it
# usage: cluster_signals.sh PATH/TO/preflight FAKEDIR
set -u
pf=$(realpath "$1") F=$(realpath "$2")
d=$(mktemp -d)
M="pf-sigtest-$$"
# every process this test starts carries PF_SIGTEST=$M in its environment
leftover() {
    for e in /proc/[0-9]*/environ; do
        { tr '\0' '\n' < "$e"; } 2>/dev/null | grep -qx "PF_SIGTEST=$M" && echo "${e%/environ}"
    done | sed 's|/proc/||' | tr '\n' ' '
}
# what is still running after up to 5 s (the launcher's stop gives 1 s, an
# agent its checks child 2 s): a bounded wait, not a fixed sleep
settle() {
    for _ in $(seq 50); do [ -z "$(leftover)" ] && return; sleep 0.1; done
    leftover
}
cleanup() {
    for p in $(leftover); do kill -KILL "$p" 2>/dev/null; done
    for j in "$d"/*.json; do
        [ -f "$j" ] && python3 -c 'import json,sys,os
for r in json.load(open(sys.argv[1])).get("nccl", {}).get("ranks", []):
    f = r.get("log_file") or ""
    if f.startswith("/tmp/preflight-agent-nccl."): print(os.path.dirname(f))' "$j" 2>/dev/null
    done | while read -r x; do rm -rf "$x"; done
    rm -rf "$d"
}
trap cleanup EXIT
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL: $*"; [ -f "$d/out" ] && tail -5 "$d/out"; fails=$((fails + 1)); }
now() { date +%s.%N; }
secs() { python3 -c "print(round($2 - $1, 1))"; }
# the pid of node NAME's agent: its argv names it -- and so does every child
# it forks (the NCCL rank, the checks child), so the agent is the one whose
# parent is not itself such a process
is_agent_of() { { tr '\0' ' ' < "/proc/$1/cmdline"; } 2>/dev/null | grep -q -- "agent .*--node-name $2\b"; }
agent_of() {
    for p in $(leftover); do
        is_agent_of "$p" "$1" || continue
        pp=$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null)
        [ -n "$pp" ] && is_agent_of "$pp" "$1" && continue
        echo "$p"
        return
    done
}
# wait until file $1 holds a line matching $2 (the coordinator's log)
wait_log() {
    for _ in $(seq 300); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
    return 1
}
printf 'n0\nn1\nn2\n' > "$d/hosts"
cluster() { # cluster TEMPLATE JSON [args...]  (background; $! is the coordinator)
    t=$1 j=$2
    shift 2
    PF_SIGTEST=$M "$pf" cluster --hostfile "$d/hosts" --launcher exec --exec-template "$t" --agent-path "$pf" \
        --listen 127.0.0.1 --no-pairs --json "$j" "$@" > "$d/out" 2>&1 &
}
nccl="--only net.interfaces --nccl --libnccl $F/libnccl.so.2 --libcuda $F/libcuda.so.1 -e 256K -n 5"

# 1 ------------------------------------------------------------------------
cluster 'env FAKE_NCCL_STALL_RANK=2 {cmd}' "$d/c1.json" $nccl --nccl-timeout 30 --op-timeout 60
cpid=$!
wait_log "$d/out" "nccl: 3 ranks" || bad "1: the nccl phase never began"
sleep 1
t0=$(now)
kill -TERM $cpid
wait $cpid; rc=$?
t1=$(now)
left=$(settle)
python3 - "$d/c1.json" <<'PY' && ok "1: coordinator SIGTERM in the NCCL phase: record kept, interrupted, nothing judged from the stop" || bad "1: record"
import json, sys
d = json.load(open(sys.argv[1]))
why = d.get("incomplete") or d.get("incomplete_reason") or json.dumps(d)[:0]
txt = json.dumps(d)
assert "interrupted by SIGTERM during the nccl phase" in txt, "no interrupted reason"
assert any("SIGTERM stopped the run while this rank ran" in json.dumps(r) for r in d["nccl"]["ranks"]), d["nccl"]["ranks"]
assert d["nccl"].get("interrupted") is True
ids = {(c["id"], c.get("node")): c for c in d["checks"]}
for n in ("n0", "n1", "n2"):
    assert ids[("net.interfaces", n)]["status"] in ("pass", "warn"), ids[("net.interfaces", n)]
bad = [(k, c["status"], c["summary"]) for k, c in ids.items() if c["status"] == "fail"]
assert not bad, bad
PY
[ "$rc" -eq 3 ] && ok "1: exit 3 in $(secs $t0 $t1) s" || bad "1: exit $rc in $(secs $t0 $t1) s"
python3 -c "import sys; sys.exit(0 if $(secs $t0 $t1) < 8 else 1)" || bad "1: the stop took $(secs $t0 $t1) s"
[ -z "$left" ] && ok "1: no agent or rank left" || bad "1: processes left: $left"

# 2 ------------------------------------------------------------------------
cluster 'env FAKE_NCCL_STALL_RANK=2 {cmd}' "$d/c2.json" $nccl --nccl-timeout 8 --op-timeout 60
cpid=$!
wait_log "$d/out" "nccl: 3 ranks" || bad "2: the nccl phase never began"
sleep 1
a2=$(agent_of n2)
[ -n "$a2" ] || bad "2: no agent process for n2"
t0=$(now)
[ -n "$a2" ] && kill -TERM "$a2"
for _ in $(seq 100); do [ -e "/proc/$a2" ] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$a2/stat" 2>/dev/null || break; sleep 0.05; done
t1=$(now)
wait $cpid; rc=$?
python3 - "$d/c2.json" <<'PY' && ok "2: an agent stopped by SIGTERM is named on its node" || bad "2: record"
import json, sys
d = json.load(open(sys.argv[1]))
txt = json.dumps(d)
assert "the agent was stopped by SIGTERM on the node" in txt, "no stopped text"
ids = {(c["id"], c.get("node")): c for c in d["checks"]}
assert ids[("cluster.nodes", None)]["status"] == "fail", ids[("cluster.nodes", None)]
assert "n2" in ids[("cluster.nodes", None)]["summary"]
PY
python3 -c "import sys; sys.exit(0 if $(secs $t0 $t1) < 4 else 1)" && ok "2: the agent exited $(secs $t0 $t1) s after SIGTERM" \
    || bad "2: the agent took $(secs $t0 $t1) s to exit"
[ "$rc" -eq 1 ] && ok "2: the run completes (exit 1: a node failed)" || bad "2: exit $rc"
left=$(settle)
[ -z "$left" ] && ok "2: no agent or rank left" || bad "2: processes left: $left"

# 3 ------------------------------------------------------------------------
mkdir -p "$d/cuda/bin"
printf '#!/bin/sh\nexec sleep 60\n' > "$d/cuda/bin/ptxas"
chmod +x "$d/cuda/bin/ptxas"
cluster "env CUDA_HOME=$d/cuda {cmd}" "$d/c3.json" --env inherit --only toolchain.ptxas --arch 9.0 --timeout 60
cpid=$!
a1=""
for _ in $(seq 200); do a1=$(agent_of n1); [ -n "$a1" ] && pgrep -P "$a1" > /dev/null && break; sleep 0.05; done
sleep 0.5
t0=$(now)
[ -n "$a1" ] && kill -TERM "$a1" || bad "3: no agent for n1"
wait_log "$d/out" "node n1 failed" && t1=$(now) || bad "3: the coordinator never heard of n1's stop"
kill -TERM $cpid
wait $cpid; rc=$?
python3 - "$d/c3.json" <<'PY' && ok "3: SIGTERM to an agent during its node checks: the node is named" || bad "3: record"
import json, sys
d = json.load(open(sys.argv[1]))
n1 = [n for n in d["cluster"]["nodes"] if n["name"] == "n1"][0]
assert n1["state"] == "failed" and "stopped by SIGTERM" in n1["why"], n1
PY
python3 -c "import sys; sys.exit(0 if $(secs $t0 $t1) < 4 else 1)" && ok "3: named $(secs $t0 $t1) s after the signal" \
    || bad "3: n1's stop took $(secs $t0 $t1) s to reach the coordinator"
[ "$rc" -eq 1 ] || [ "$rc" -eq 3 ] || bad "3: coordinator exit $rc"
left=$(settle)
[ -z "$left" ] && ok "3: no agent, checks child or ptxas left" || bad "3: processes left: $left"

# 4 ------------------------------------------------------------------------
cluster 'env FAKE_NCCL_STALL_RANK=2 {cmd}' "$d/c4.json" $nccl --nccl-timeout 30 --op-timeout 60
cpid=$!
wait_log "$d/out" "nccl: 3 ranks" || bad "4: the nccl phase never began"
sleep 1
# a coordinator stuck in its clean stop: SIGSTOP would block both signals;
# instead send both at once -- the second (another signal) exits at once
kill -TERM $cpid; kill -INT $cpid
wait $cpid; rc=$?
left=$(settle)
[ "$rc" -eq 130 ] || [ "$rc" -eq 143 ] || [ "$rc" -eq 3 ] || bad "4: exit $rc"
[ -z "$left" ] && ok "4: two signals (exit $rc): no agent or rank left" || bad "4: processes left: $left"

[ "$fails" -eq 0 ] && echo "all passed" || { echo "$fails failure(s)"; exit 1; }
