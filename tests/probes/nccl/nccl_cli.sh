#!/usr/bin/env bash
# `preflight nccl` end to end with the stand-in libnccl/libcuda: exit codes,
# the record's nccl section, the fallback environment, bad input.
#   nccl_cli.sh PREFLIGHT FAKEDIR
set -u
PF=$1; F=$2
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
run() { "$PF" nccl --libnccl "$F/libnccl.so.2" --libcuda "$F/libcuda.so.1" --log-dir "$T" -e 1M "$@"; }
printf '# plan\nexport NCCL_SOCKET_IFNAME=lo\nNCCL_IB_DISABLE=1\n' > "$T/ok.env"
printf 'NCCL_SOCKET_IFNAME=nonexist0\n' > "$T/bad.env"

run --ranks 3 --env-file "$T/ok.env" --expect-ifname lo --expect-transport NET/Socket --fallback-env "$T/ok.env" \
    --json "$T/r.json" -q; rc=$?
[ $rc -eq 0 ] || fail "ok run exit $rc"
python3 - "$T/r.json" <<'PY' || fail "record"
import json, sys
d = json.load(open(sys.argv[1]))
s = d["nccl"]
assert s["nranks"] == 3 and len(s["ranks"]) == 3, s.keys()
assert [r["bytes"] for r in s["all_reduce"]] == [1020, 4092, 16380, 65532, 262140, 1048572] or len(s["all_reduce"]) == 6
assert all(r["wrong"] == 0 for r in s["all_reduce"] + s["all_gather"] + s["p2p"])
assert all(r["nccl_log"]["bootstrap"]["ifname"] == "lo" for r in s["ranks"])
assert "fallback" in s
st = {c["id"]: c["status"] for c in d["checks"]}
for k in ["nccl.env", "nccl.init", "nccl.p2p", "nccl.allreduce", "nccl.allgather", "nccl.transport", "nccl.fallback"]:
    assert st[k] == "pass", (k, st)
PY
# --capture lo: the capture is told the ranks' pids and narrows to their
# ports (nccl_pcap.h).  Without capture rights or libpcap the check says
# skip with the reason, and the rest of the case cannot be judged here.
run --ranks 2 --env-file "$T/ok.env" --capture lo --json "$T/c.json" -q; rc=$?
[ $rc -eq 0 ] || fail "capture run exit $rc"
python3 - "$T/c.json" <<'PY' || fail "capture record"
import json, sys
d = json.load(open(sys.argv[1]))
cc = [c for c in d["checks"] if c["id"] == "nccl.capture"][0]
if cc["status"] == "skip":
    assert "capture" in cc["summary"], cc
    print("capture case not judged:", cc["summary"]); sys.exit(0)
assert cc["status"] == "pass", cc
c = d["nccl"]["capture"]
assert sorted(c["pids"]) == sorted(r["pid"] for r in d["nccl"]["ranks"]), (c["pids"], d["nccl"]["ranks"])
assert len(c["ports"]) >= 2 and c["ports_total"] == len(c["ports"]), c
assert c["filter"] == "tcp and (" + " or ".join("port %d" % p for p in c["ports"]) + ")", c["filter"]
assert c["filter_updates"] >= 1 and "filter_note" not in c, c
lo = c["interfaces"]["lo"]
assert lo["payload_bytes"] >= 1 << 20 and "other_tcp" in lo, lo
assert "the probe's TCP moved" in cc["summary"], cc
PY
run --env-file "$T/ok.env" --fallback-env "$T/bad.env" -q; [ $? -eq 1 ] || fail "failing fallback must exit 1"
run --env-file "$T/bad.env" -q; [ $? -eq 1 ] || fail "bad interface must exit 1"
"$PF" nccl --libnccl /nonexistent/libnccl.so.2 --libcuda "$F/libcuda.so.1" --log-dir "$T" -q; [ $? -eq 1 ] || fail "missing libnccl must exit 1"
for bad in "-b 12Q" "--ranks 0" "--ranks 2 --inject-kill-rank 5" "--frobnicate" "-e 1K -b 1M" "--op-timeout -1" "--env-file /nonexistent.env"; do
    run $bad -q 2>"$T/err"; rc=$?
    [ $rc -eq 2 ] || fail "'$bad' exit $rc (want 2)"
    [ -s "$T/err" ] || fail "'$bad' said nothing"
done
printf 'NCCL_IB_DISABLE=1\nnot an assignment\n' > "$T/junk.env"
run --env-file "$T/junk.env" -q 2>"$T/err"; [ $? -eq 2 ] && grep -q "line 2" "$T/err" || fail "env file line error"
# SIGTERM while a rank hangs (FAKE_NCCL_STALL_RANK=1): the signal policy
# (core/sig.h): the ranks' process group is stopped, the record is written
# with what they reported, marked interrupted, exit 3, and no rank outlives
# it.  Zombies count as gone: in a container nobody may reap the orphans.
alive() { [ -e "/proc/$1" ] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null; }
FAKE_NCCL_STALL_RANK=1 "$PF" nccl --libnccl "$F/libnccl.so.2" --libcuda "$F/libcuda.so.1" --log-dir "$T" -e 1M \
    --ranks 2 --env-file "$T/ok.env" --json "$T/int.json" -q >/dev/null 2>&1 &
pid=$!
kids=""
for _ in $(seq 200); do kids=$(pgrep -P $pid | tr '\n' ' '); [ "$(echo $kids | wc -w)" -ge 2 ] && break; sleep 0.05; done
[ "$(echo $kids | wc -w)" -ge 2 ] || fail "SIGTERM case: the ranks did not start ($kids)"
# wait until a rank reported a collective phase (the log has it), not a fixed time
for _ in $(seq 200); do grep -qs 'all_reduce\|AllReduce' "$T"/nccl.rank0.log && break; sleep 0.05; done
t0=$(date +%s%N)
kill -TERM $pid; wait $pid; rc=$?
t1=$(date +%s%N)
[ $rc -eq 3 ] || fail "SIGTERM: exit $rc (want 3)"
[ $(( (t1 - t0) / 1000000 )) -lt 8000 ] || fail "SIGTERM: took $(( (t1 - t0) / 1000000 )) ms to stop"
python3 - "$T/int.json" <<'PY' || fail "SIGTERM: record"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["complete"] is False and "interrupted by SIGTERM" in d["incomplete_reason"], d.get("incomplete_reason")
s = d["nccl"]
assert s["interrupted"] is True and len(s["ranks"]) == 2, s.keys()
PY
gone=0
for _ in $(seq 100); do
    gone=1; for k in $kids; do alive $k && gone=0; done
    [ $gone -eq 1 ] && break; sleep 0.05
done
if [ $gone -ne 1 ]; then kill -KILL $kids 2>/dev/null; fail "SIGTERM left NCCL ranks running: $kids"; fi
echo OK
