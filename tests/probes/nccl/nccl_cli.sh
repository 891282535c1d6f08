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
echo OK
