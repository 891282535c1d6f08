#!/bin/sh
# cluster.nccl end to end without a GPU: `preflight cluster --nccl` with
# agents started by --launcher exec on this host (loopback, no root), each
# running its rank in a child over the stand-in libnccl (TCP on 127.0.0.1)
# and the stand-in libcuda (tests/probes/nccl/).  Rank 0's unique id goes
# coordinator-ward and back out over the control plane.
#   0. 2 nodes with net.nccl_ifname/net.transport: nccl.rank compares each
#      node's prediction with its rank's NCCL log (lo vs the real NIC: warn),
#      and nccl.transport judges the run against the nodes' agreed plan
#      (NET/Socket over the real NIC: NCCL on lo fails it)
#   0b. n1 on another NCCL version (env= file, FAKE_NCCL_VERSION): nccl.init
#      fails naming nodes and versions
#   1. 3 nodes: cluster.nccl passes, the record's nccl section has the
#      hand-offs (p2p numbers) and the sweeps, every node a passing nccl.rank
#   2. a rank that dies mid-collective (the stand-in's FAKE_NCCL_DIE_RANK):
#      named with its node and the signal, the run completes, exit 1
#   3. a rank that hangs past --nccl-timeout (FAKE_NCCL_STALL_RANK with a
#      long --op-timeout): its agent kills it at the deadline and says in
#      which phase; the run ends within the deadline's bound
#   4. bad input: NCCL flags without --nccl, a relative --libnccl
# usage: cluster_nccl.sh PATH/TO/preflight FAKEDIR
set -u
pf=$1 F=$2
d=$(mktemp -d)
# The agents keep each rank's NCCL log in /tmp/preflight-agent-nccl.XXXXXX
# (named in the record): remove those of this test's runs too.
cleanup() {
    for j in "$d"/*.json; do
        [ -f "$j" ] && python3 -c 'import json,sys,os
for r in json.load(open(sys.argv[1])).get("nccl", {}).get("ranks", []):
    f = r.get("log_file") or ""
    if f.startswith("/tmp/preflight-agent-nccl."): print(os.path.dirname(f))' "$j"
    done | while read -r x; do rm -rf "$x"; done
    rm -rf "$d"
}
trap cleanup EXIT
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
printf 'n0\nn1\nn2\n' > "$d/hosts"
cluster() { # cluster TEMPLATE JSON [args...]
    t=$1 j=$2
    shift 2
    "$pf" cluster --hostfile "$d/hosts" --launcher exec --exec-template "$t" --agent-path "$pf" \
        --listen 127.0.0.1 --only net.interfaces --no-pairs --nccl --libnccl "$F/libnccl.so.2" \
        --libcuda "$F/libcuda.so.1" -e 256K -n 5 --json "$j" -q "$@" > "$d/out" 2>&1
}

cluster 'env {cmd}' "$d/ok.json" --nccl-timeout 10
python3 - "$d/ok.json" <<'PY' && ok "3 nodes: cluster.nccl passes with p2p numbers in the record" || bad "3-node run"
import json, sys
d = json.load(open(sys.argv[1]))
s = d["nccl"]
assert s["nranks"] == 3 and s["nodes"] == ["n0", "n1", "n2"], s.get("nodes")
assert [r["host"] for r in s["ranks"]] == ["n0", "n1", "n2"]
assert len(s["p2p"]) >= 4 and all(r["wrong"] == 0 and r["gbps"] > 0 for r in s["p2p"]), s["p2p"]
assert {(r["from"], r["to"]) for r in s["p2p"]} >= {(0, 1), (1, 2)}, s["p2p"]
assert s["all_reduce"] and all(r["wrong"] == 0 for r in s["all_reduce"])
st = {(c["id"], c.get("node")): c["status"] for c in d["checks"]}
for k in ["cluster.nccl", "nccl.init", "nccl.p2p", "nccl.allreduce", "nccl.allgather"]:
    assert st[(k, None)] == "pass", (k, st)
for n in ["n0", "n1", "n2"]:
    assert st[("nccl.rank", n)] == "pass", (n, st)
# --only net.interfaces: no node predicted NCCL's choice; the evidence says so
for c in d["checks"]:
    if c["id"] == "nccl.rank":
        p = c["evidence"]["prediction"]
        assert p["verdict"] == "skip" and "did not run on this node" in p["text"], p
PY

# With the node checks that predict NCCL's choice: the stand-in libnccl runs
# over lo (127.0.0.1) while net.nccl_ifname predicts this machine's real
# NIC, so each nccl.rank names the difference, per node.
printf 'n0\nn1\n' > "$d/hosts2"
"$pf" cluster --hostfile "$d/hosts2" --launcher exec --exec-template 'env {cmd}' --agent-path "$pf" \
    --listen 127.0.0.1 --only net.interfaces,net.nccl_ifname,net.transport --no-pairs --nccl \
    --libnccl "$F/libnccl.so.2" --libcuda "$F/libcuda.so.1" -e 256K -n 5 --json "$d/pred.json" -q \
    --nccl-timeout 10 > "$d/out" 2>&1
python3 - "$d/pred.json" <<'PY' && ok "each node's prediction is compared with its rank's NCCL log" || bad "prediction vs NCCL log"
import json, sys
d = json.load(open(sys.argv[1]))
pred = {c["node"]: c for c in d["checks"] if c["id"] == "net.nccl_ifname"}
for c in d["checks"]:
    if c["id"] != "nccl.rank":
        continue
    want = pred[c["node"]]["evidence"]["selection"]["bootstrap"]["interface"]
    p = c["evidence"]["prediction"]
    if want == "lo":
        assert p["verdict"] == "pass", p
    else:
        assert c["status"] == "warn" and p["verdict"] == "warn", c
        assert "predicted NET/Socket over %s, NCCL used NET/Socket over lo" % want in c["summary"], c["summary"]
# the cluster-wide nccl.transport is judged against the nodes' predictions:
# both predict NET/Socket over this machine's NIC, NCCL used lo
tr = [c for c in d["checks"] if c["id"] == "nccl.transport"][0]
assert tr["evidence"]["planned_transport"] == "NET/Socket", tr["evidence"]
ifs = sorted({c["evidence"]["selection"]["bootstrap"]["interface"] for c in pred.values()})
assert tr["evidence"]["planned_ifnames"] == ",".join(ifs) or len(ifs) > 1, tr["evidence"]
cn = [c for c in d["checks"] if c["id"] == "cluster.nccl"][0]
if ifs == ["lo"]:
    assert tr["status"] == "pass" and "as planned" in tr["summary"], tr
else:
    assert tr["status"] == "fail" and "NET/Socket uses lo, which the plan (%s) does not include" % ifs[0] in tr["summary"], tr
    assert cn["status"] == "fail" and cn["summary"].startswith("nccl.transport: "), cn
PY

# n1 loads another NCCL version (its hostfile env= file sets the stand-in's
# FAKE_NCCL_VERSION): nccl.init and cluster.nccl name the nodes and versions.
echo 'FAKE_NCCL_VERSION=2.27.7' > "$d/n1.env"
printf 'n0\nn1 env=%s\n' "$d/n1.env" > "$d/hosts3"
"$pf" cluster --hostfile "$d/hosts3" --launcher exec --exec-template 'env {cmd}' --agent-path "$pf" \
    --listen 127.0.0.1 --only net.interfaces --no-pairs --nccl --libnccl "$F/libnccl.so.2" \
    --libcuda "$F/libcuda.so.1" -e 256K -n 5 --json "$d/ver.json" -q --nccl-timeout 10 > "$d/out" 2>&1
python3 - "$d/ver.json" <<'PY' && ok "mismatched NCCL versions: nccl.init names n0 2.28.9 vs n1 2.27.7" || bad "version mismatch"
import json, sys
d = json.load(open(sys.argv[1]))
st = {(c["id"], c.get("node")): c for c in d["checks"]}
want = "Mismatched NCCL version across ranks: 2.28.9 on n0 vs 2.27.7 on n1"
assert st[("nccl.init", None)]["status"] == "fail" and want in st[("nccl.init", None)]["summary"], st[("nccl.init", None)]
assert st[("cluster.nccl", None)]["status"] == "fail" and want in st[("cluster.nccl", None)]["summary"]
PY

# n1 cannot find its socket interface (NCCL_SOCKET_IFNAME=nonexist0 in its
# env= file): its rank fails at once, while n2's rank hangs (the stand-in's
# FAKE_NCCL_STALL_RANK) as real NCCL ranks wait for a peer that never comes
# (20 s on the H100, run 6a).  The coordinator sends nccl_abort as soon as
# n1's result is in: the run ends in seconds instead of at the 30 s
# deadline, n1 is the root cause, n2 says it was stopped because of it.
echo 'NCCL_SOCKET_IFNAME=nonexist0' > "$d/badif.env"
printf 'n0\nn1 env=%s\nn2\n' "$d/badif.env" > "$d/hosts4"
t0=$(date +%s)
"$pf" cluster --hostfile "$d/hosts4" --launcher exec --exec-template 'env FAKE_NCCL_STALL_RANK=2 {cmd}' --agent-path "$pf" \
    --listen 127.0.0.1 --only net.interfaces --no-pairs --nccl --libnccl "$F/libnccl.so.2" \
    --libcuda "$F/libcuda.so.1" -e 256K -n 5 --json "$d/badif.json" -q --nccl-timeout 30 --init-timeout 20 > "$d/out" 2>&1
rc=$? t1=$(date +%s)
python3 - "$d/badif.json" <<'PY' && ok "one rank fails at once: the others are aborted, n1 named the root cause" || bad "abort after a failed rank"
import json, sys
d = json.load(open(sys.argv[1]))
st = {(c["id"], c.get("node")): c for c in d["checks"]}
init = st[("nccl.init", None)]
assert init["status"] == "fail" and "n1" in init["summary"] and "socket interface" in init["summary"], init["summary"]
ranks = {r["host"]: r for r in d["nccl"]["ranks"]}
dg = ranks["n2"].get("diagnosis") or {}
assert dg.get("cause") == "aborted" and "the rank on n1 failed first" in dg.get("what", ""), dg
# n2 did not fail on its own: its nccl.rank is not a failure of n2
assert st[("nccl.rank", "n2")]["status"] == "skip" and "not judged" in st[("nccl.rank", "n2")]["summary"], st[("nccl.rank", "n2")]
PY
[ "$rc" -eq 1 ] && [ $((t1 - t0)) -le 8 ] && ok "a failed rank ends the phase in $((t1 - t0)) s (init deadline 20 s)" \
    || bad "a failed rank: exit $rc in $((t1 - t0)) s"

# gpu.driver runs on every node before the ranks start, through the same
# stand-in libcuda (LD_LIBRARY_PATH), which refuses cuInit in a child forked
# after its parent's cuInit, as the real driver does.  The agent runs its
# node checks in a child of its own, so its NCCL rank can still use CUDA.
LD_LIBRARY_PATH="$F${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$pf" cluster --hostfile "$d/hosts" --launcher exec \
    --exec-template 'env {cmd}' --agent-path "$pf" --listen 127.0.0.1 --only gpu.driver,net.interfaces --no-pairs \
    --nccl --libnccl "$F/libnccl.so.2" --libcuda "$F/libcuda.so.1" -e 256K -n 5 --json "$d/gpu.json" -q \
    --nccl-timeout 10 > "$d/out" 2>&1
python3 - "$d/gpu.json" <<'PY' && ok "gpu.driver ran on the nodes (cuInit) and the ranks still formed a communicator" || { bad "gpu.driver then nccl"; cat "$d/out"; }
import json, sys
d = json.load(open(sys.argv[1]))
st = {(c["id"], c.get("node")): c for c in d["checks"]}
for n in ["n0", "n1", "n2"]:
    assert st[("gpu.driver", n)]["status"] in ("pass", "warn"), st[("gpu.driver", n)]
assert st[("nccl.init", None)]["status"] == "pass", st[("nccl.init", None)]["summary"]
assert st[("cluster.nccl", None)]["status"] in ("pass", "warn"), st[("cluster.nccl", None)]["summary"]
PY

t0=$(date +%s)
cluster 'env FAKE_NCCL_DIE_RANK=1 {cmd}' "$d/die.json" --nccl-timeout 8; rc=$?
t1=$(date +%s)
[ "$rc" -eq 1 ] && ok "a dying rank: exit 1" || bad "a dying rank: exit $rc (want 1)"
python3 - "$d/die.json" <<'PY' && ok "a dying rank is named (node n1, signal 9), the run completes" || bad "dying rank record"
import json, sys
d = json.load(open(sys.argv[1]))
st = {(c["id"], c.get("node")): c for c in d["checks"]}
init = st[("nccl.init", None)] if st[("nccl.init", None)]["status"] == "fail" else None
cn = st[("cluster.nccl", None)]
assert cn["status"] == "fail" and "n1" in cn["summary"], cn["summary"]
r1 = st[("nccl.rank", "n1")]
assert r1["status"] == "fail" and "signal 9" in r1["summary"], r1["summary"]
assert [n["name"] for n in d["nodes"]] == ["n0", "n1", "n2"]
assert any(p["name"] == "nccl" for p in d["cluster"]["phases"]), d["cluster"]["phases"]
PY
[ $((t1 - t0)) -le 12 ] && ok "a dying rank: named in $((t1 - t0)) s" || bad "a dying rank took $((t1 - t0)) s"

t0=$(date +%s)
cluster 'env FAKE_NCCL_STALL_RANK=2 {cmd}' "$d/hang.json" --nccl-timeout 3 --op-timeout 60; rc=$?
t1=$(date +%s)
python3 - "$d/hang.json" <<'PY' && ok "a hung rank is killed at the deadline and named with its phase" || bad "hung rank record"
import json, sys
d = json.load(open(sys.argv[1]))
st = {(c["id"], c.get("node")): c for c in d["checks"]}
assert st[("cluster.nccl", None)]["status"] == "fail"
msgs = [st[("nccl.rank", n)]["summary"] for n in ("n0", "n1", "n2")]
assert any("at the 3 s deadline: killed" in m for m in msgs), msgs
PY
[ "$rc" -eq 1 ] && [ $((t1 - t0)) -le 10 ] && ok "a hung rank: exit 1 in $((t1 - t0)) s" || bad "a hung rank: exit $rc in $((t1 - t0)) s"

"$pf" cluster --hosts a -b 1M > "$d/out" 2>&1; rc=$?
[ "$rc" -eq 2 ] && grep -q "need --nccl" "$d/out" && ok "NCCL flags without --nccl: usage" || bad "flags without --nccl: exit $rc"
"$pf" cluster --hosts a --nccl --libnccl lib/libnccl.so.2 > "$d/out" 2>&1; rc=$?
[ "$rc" -eq 2 ] && grep -q "absolute path" "$d/out" && ok "a relative --libnccl: usage" || bad "relative --libnccl: exit $rc"
"$pf" cluster --hosts a --nccl -b 1M -e 1K > "$d/out" 2>&1; rc=$?
[ "$rc" -eq 2 ] && ok "an empty size range: usage" || bad "-b 1M -e 1K: exit $rc"

[ "$fails" -eq 0 ] && echo "all passed" || { echo "$fails failure(s)"; exit 1; }
