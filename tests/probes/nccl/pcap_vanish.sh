#!/usr/bin/env bash
# A capture interface that vanishes mid-run (issue #9, "bad input"): the
# interface is deleted while `preflight nccl --capture lo,IF` runs; the
# capture of IF ends with libpcap's own words ("The interface disappeared"),
# nccl.capture warns naming it, lo's bytes are still counted, and every rank
# passes -- nothing else is lost.  Root only (a veth pair); exit 77 without.
#   pcap_vanish.sh PREFLIGHT FAKEDIR
set -u
PF=$1; F=$2
[ "$(id -u)" = 0 ] && command -v ip > /dev/null || { echo "SKIP: needs root and ip"; exit 77; }
A=pfvan$$; A=${A:0:12}a; B=${A%a}b
T=$(mktemp -d); trap 'ip link del "$A" 2>/dev/null; rm -rf "$T"' EXIT
ip link add "$A" type veth peer name "$B" 2>/dev/null && ip link set "$A" up && ip link set "$B" up \
    || { echo "SKIP: cannot create a veth pair here"; exit 77; }
printf 'NCCL_SOCKET_IFNAME=lo\n' > "$T/e"
"$PF" nccl --libnccl "$F/libnccl.so.2" --libcuda "$F/libcuda.so.1" --log-dir "$T" --ranks 2 --env-file "$T/e" \
    -e 64M --capture "lo,$A" --json "$T/r.json" -q > "$T/out" 2>&1 &
p=$!
# delete it once the capture is running (its process opened both interfaces)
for _ in $(seq 100); do grep -q . "$T/out" 2>/dev/null; pgrep -P $p > /dev/null && break; sleep 0.05; done
sleep 0.5
ip link del "$A"
wait $p; rc=$?
python3 - "$T/r.json" "$A" <<'PY' || { cat "$T/out"; exit 1; }
import json, sys
d = json.load(open(sys.argv[1])); a = sys.argv[2]
cap = d["nccl"]["capture"]["interfaces"]
assert "disappeared" in (cap[a]["error"] or "") or "capture stopped" in (cap[a]["error"] or ""), cap[a]
assert cap["lo"]["bytes"] > 0 and cap["lo"]["error"] is None, cap["lo"]
st = {c["id"]: c for c in d["checks"]}
assert st["nccl.capture"]["status"] in ("warn", "error") and a in st["nccl.capture"]["summary"], st["nccl.capture"]
for k in ("nccl.init", "nccl.allreduce", "nccl.p2p"):
    assert st[k]["status"] == "pass", (k, st[k]["summary"])
print("ok   %s vanished mid-run: %s; lo %d bytes; the ranks passed" % (a, cap[a]["error"], cap["lo"]["bytes"]))
PY
[ $rc -le 1 ] || { echo "FAIL: exit $rc"; exit 1; }
