#!/bin/sh
# cluster.nccl's --capture and --fallback-env end to end, as cluster_nccl.sh
# runs it: agents started by --launcher exec on this host, each rank over
# the stand-in libnccl (TCP on 127.0.0.1) and libcuda of tests/probes/nccl.
#
# usage: cluster_nccl_more.sh PATH/TO/preflight FAKEDIR capture|fallback
#   capture   --capture lo: each agent counts its rank's traffic with
#             libpcap; nccl.capture passes on every node with bytes on lo;
#             with the nodes' predictions (net.nccl_ifname) the capture is
#             compared with them.  Needs CAP_NET_RAW: exit 77 without.
#   fallback  --fallback-env FILE (no root):
#             1. NCCL_SOCKET_IFNAME=lo: the second round passes (nccl.fallback)
#             2. NCCL_NET_PLUGIN=...: every agent refuses it, nccl.fallback
#                is an error naming the variable, nothing loaded
#             3. NCCL_SOCKET_IFNAME=nonexist0: the stand-in fails rank 0's
#                bootstrap as NCCL does; nccl.fallback fails with the cause
#             4. bad input: an unreadable file, a bad --capture: usage
set -u
pf=$1 F=$2 mode=$3
d=$(mktemp -d)
cleanup() {
    for j in "$d"/*.json; do
        [ -f "$j" ] && python3 -c 'import json,sys,os
s = json.load(open(sys.argv[1])).get("nccl", {})
for r in s.get("ranks", []) + s.get("fallback", {}).get("ranks", []):
    f = r.get("log_file") or ""
    if f.startswith("/tmp/preflight-agent-nccl."): print(os.path.dirname(f))' "$j"
    done | while read -r x; do rm -rf "$x"; done
    rm -rf "$d"
}
trap cleanup EXIT
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
printf 'n0\nn1\n' > "$d/hosts"
cluster() { # cluster JSON [args...]
    j=$1
    shift
    "$pf" cluster --hostfile "$d/hosts" --launcher exec --exec-template 'env {cmd}' --agent-path "$pf" \
        --listen 127.0.0.1 --no-pairs --nccl --libnccl "$F/libnccl.so.2" --libcuda "$F/libcuda.so.1" \
        -e 256K -n 5 --nccl-timeout 10 --json "$j" -q "$@" > "$d/out" 2>&1
}

if [ "$mode" = capture ]; then
    cluster "$d/cap.json" --only net.interfaces --capture lo
    # no capture rights here (not root, no CAP_NET_RAW, no libpcap): skip
    if python3 - "$d/cap.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
caps = [c for c in d["checks"] if c["id"] == "nccl.capture"]
sys.exit(0 if caps and all(c["status"] == "skip" for c in caps) else 1)
PY
    then
        echo "SKIP: the agents cannot capture here:"
        python3 -c 'import json,sys
print([c["summary"] for c in json.load(open(sys.argv[1]))["checks"] if c["id"] == "nccl.capture"][0])' "$d/cap.json"
        exit 77
    fi
    python3 - "$d/cap.json" <<'PY' && ok "--capture lo: every node's nccl.capture saw NCCL's bytes on lo" || { bad "capture on lo"; cat "$d/out"; }
import json, sys
d = json.load(open(sys.argv[1]))
st = {(c["id"], c.get("node")): c for c in d["checks"]}
for n in ["n0", "n1"]:
    c = st[("nccl.capture", n)]
    lo = c["evidence"]["capture"]["interfaces"]["lo"]
    assert c["status"] == "pass" and c["summary"].startswith("NCCL moved ") and " over lo " in c["summary"], c
    assert lo["bytes"] > 0 and lo["packets"] > 0, lo
    assert d["nccl"]["capture"][n]["interfaces"]["lo"]["bytes"] == lo["bytes"]
    # narrowed to this node's rank: its pid watched, the BPF filter on its ports
    cap = c["evidence"]["capture"]
    rank = [r for r in d["nccl"]["ranks"] if r["host"] == n][0]
    assert cap.get("pids") == [rank["pid"]], (cap.get("pids"), rank.get("pid"))
    assert cap["filter"].startswith("tcp and (") and "port" in cap["filter"], cap["filter"]
# the capture is nccl.transport's evidence too (all nodes' bytes per interface)
tr = st[("nccl.transport", None)]
assert tr["status"] == "pass" and "captured" in tr["summary"] and "over lo" in tr["summary"], tr
assert st[("cluster.nccl", None)]["status"] == "pass", st[("cluster.nccl", None)]
PY
    # a named interface a node lacks: an error there, NCCL's verdict unchanged
    cluster "$d/miss.json" --only net.interfaces --capture lo,nonexist0
    python3 - "$d/miss.json" <<'PY' && ok "--capture lo,nonexist0: nccl.capture is an error naming nonexist0" || bad "missing interface"
import json, sys
d = json.load(open(sys.argv[1]))
st = {(c["id"], c.get("node")): c for c in d["checks"]}
c = st[("nccl.capture", "n0")]
assert c["status"] == "error" and "packet capture on nonexist0 failed: no such interface" in c["summary"], c
assert st[("cluster.nccl", None)]["status"] == "pass", st[("cluster.nccl", None)]
PY
    # with the nodes' predictions: traffic over lo where a node predicted its
    # real NIC is a finding (warn); where it predicted lo, a pass
    cluster "$d/pred.json" --only net.interfaces,net.nccl_ifname,net.transport --capture auto
    python3 - "$d/pred.json" <<'PY' && ok "--capture auto against each node's predicted interface" || bad "capture vs prediction"
import json, sys
d = json.load(open(sys.argv[1]))
st = {(c["id"], c.get("node")): c for c in d["checks"]}
for n in ["n0", "n1"]:
    want = st[("net.nccl_ifname", n)]["evidence"]["selection"]["bootstrap"]["interface"]
    c = st[("nccl.capture", n)]
    assert "lo" in c["evidence"]["capture"]["interfaces"], c["evidence"]
    busiest = max(c["evidence"]["capture"]["interfaces"].items(), key=lambda kv: kv[1].get("bytes") or 0)[0]
    if busiest == want:
        assert c["status"] == "pass" and "as this node predicted" in c["summary"], c
    else:
        assert c["status"] == "warn" and "but this node's prediction is %s" % want in c["summary"], c
PY
else
    echo 'NCCL_SOCKET_IFNAME=lo' > "$d/ok.env"
    cluster "$d/ok.json" --only net.interfaces --fallback-env "$d/ok.env"; rc=$?
    python3 - "$d/ok.json" <<'PY' && ok "a working fallback: nccl.fallback passes, all-reduce up to 4 MiB" || { bad "fallback passing"; cat "$d/out"; }
import json, sys
d = json.load(open(sys.argv[1]))
st = {(c["id"], c.get("node")): c for c in d["checks"]}
f = st[("nccl.fallback", None)]
assert f["status"] == "pass" and "the fallback works: all-reduce correct up to 4 MiB over NET/Socket" in f["summary"], f
assert f["evidence"]["added"] == ["NCCL_SOCKET_IFNAME=lo"], f["evidence"]
fs = d["nccl"]["fallback"]
assert fs["nodes"] == ["n0", "n1"] and fs["all_reduce"][-1]["bytes"] == 4 << 20, fs.get("all_reduce")
assert "all_gather" not in fs or not fs["all_gather"], "the fallback round runs all-reduce only"
assert not fs.get("p2p"), "the fallback round has no hand-offs"
# the first round is unchanged: its own sweep to 256K with hand-offs
assert d["nccl"]["all_reduce"][-1]["bytes"] == 256 << 10 and d["nccl"]["p2p"]
assert st[("cluster.nccl", None)]["status"] == "pass"
PY

    printf 'NCCL_IB_DISABLE=1\nNCCL_NET_PLUGIN=/tmp/evil\n' > "$d/plugin.env"
    cluster "$d/plugin.json" --only net.interfaces --fallback-env "$d/plugin.env"; rc=$?
    python3 - "$d/plugin.json" <<'PY' && ok "NCCL_NET_PLUGIN over the network: the agent refuses, nccl.fallback names it" || { bad "plugin refused"; cat "$d/out"; }
import json, sys
d = json.load(open(sys.argv[1]))
st = {(c["id"], c.get("node")): c for c in d["checks"]}
f = st[("nccl.fallback", None)]
assert f["status"] == "error" and "refused by n0" in f["summary"] and "NCCL_NET_PLUGIN names a file or a library" in f["summary"], f
assert st[("nccl.init", None)]["status"] == "pass"   # the first round ran
assert st[("cluster.nccl", None)]["status"] == "fail" and "nccl.fallback" in st[("cluster.nccl", None)]["summary"]
PY
    [ "$rc" -eq 1 ] && ok "a refused fallback: exit 1" || bad "a refused fallback: exit $rc (want 1)"

    echo 'NCCL_SOCKET_IFNAME=nonexist0' > "$d/noif.env"
    cluster "$d/noif.json" --only net.interfaces --fallback-env "$d/noif.env"; rc=$?
    python3 - "$d/noif.json" <<'PY' && ok "a fallback that breaks NCCL: nccl.fallback fails with rank 0's cause" || { bad "failing fallback"; cat "$d/out"; }
import json, sys
d = json.load(open(sys.argv[1]))
st = {(c["id"], c.get("node")): c for c in d["checks"]}
f = st[("nccl.fallback", None)]
assert f["status"] == "fail" and "under the fallback environment rank 0 (n0) failed in bootstrap" in f["summary"], f
assert "no socket interface found" in f["summary"] and f.get("remedy"), f
assert st[("nccl.init", None)]["status"] == "pass"
PY
    [ "$rc" -eq 1 ] && ok "a failing fallback: exit 1" || bad "a failing fallback: exit $rc (want 1)"

    "$pf" cluster --hosts a --nccl --fallback-env "$d/none.env" > "$d/out" 2>&1; rc=$?
    [ "$rc" -eq 2 ] && grep -q "none.env" "$d/out" && ok "an unreadable --fallback-env: usage" || bad "unreadable fallback: exit $rc"
    "$pf" cluster --hosts a --nccl --capture 'lo;id' > "$d/out" 2>&1; rc=$?
    [ "$rc" -eq 2 ] && grep -q "is not an interface name" "$d/out" && ok "a bad --capture: usage" || bad "bad --capture: exit $rc"
    "$pf" cluster --hosts a --capture lo > "$d/out" 2>&1; rc=$?
    [ "$rc" -eq 2 ] && grep -q "need --nccl" "$d/out" && ok "--capture without --nccl: usage" || bad "--capture without --nccl: exit $rc"
fi

[ "$fails" -eq 0 ] && echo "all passed" || { echo "$fails failure(s)"; exit 1; }
