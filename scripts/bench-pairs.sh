#!/usr/bin/env bash
# cluster.bandwidth against iperf3 on the same pair in the same run.
#
# Two network namespaces joined by a veth pair; in each round iperf3 and the
# pair test (tests' pair_driver: pf_pair_listen in one namespace,
# pf_pair_probe in the other) each move data for SECONDS, alternating, with
# 1 and 4 streams.  Both are counted at the receiver (iperf3's
# sum_received, our listener's byte count).  Prints one line per run and the
# ratio of medians; exit 1 when the ratio is under 0.90.
#
# usage: scripts/bench-pairs.sh [BUILD_DIR] [SECONDS] [ROUNDS]   (root; iperf3, iproute2)
set -euo pipefail
BUILD=${1:-build}
SECS=${2:-3}
ROUNDS=${3:-3}
DRIVER=$BUILD/tests/pair_driver
[ -x "$DRIVER" ] || { echo "no $DRIVER: build with -DPF_TESTS=ON first" >&2; exit 2; }
command -v iperf3 >/dev/null || { echo "iperf3 not installed (scripts/install-deps-pairs.sh)" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "needs root (network namespaces)" >&2; exit 2; }

A=pfbwa$$ B=pfbwb$$
cleanup() {
    [ -n "${IPERF_PID:-}" ] && kill "$IPERF_PID" 2>/dev/null || true
    [ -n "${LST_PID:-}" ] && kill "$LST_PID" 2>/dev/null || true
    ip netns del $A 2>/dev/null || true
    ip netns del $B 2>/dev/null || true
    rm -rf "$TMP"
}
TMP=$(mktemp -d)
trap cleanup EXIT
ip netns add $A
ip netns add $B
ip link add va netns $A type veth peer name vb netns $B
ip -n $A addr add 10.201.0.1/24 dev va
ip -n $B addr add 10.201.0.2/24 dev vb
ip -n $A link set va up; ip -n $A link set lo up
ip -n $B link set vb up; ip -n $B link set lo up

ip netns exec $B iperf3 -s -B 10.201.0.2 -p 5201 >/dev/null 2>&1 &
IPERF_PID=$!
mkfifo "$TMP/hold"
ip netns exec $B "$DRIVER" listen '{"node":"b","addresses":["10.201.0.2"],"tests":["bandwidth"]}' \
    <"$TMP/hold" >"$TMP/listen.json" &
LST_PID=$!
exec 3>"$TMP/hold"
for _ in $(seq 50); do [ -s "$TMP/listen.json" ] && break; sleep 0.1; done
EPS=$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["endpoints"]))' "$TMP/listen.json")
sleep 0.3

printf '%-8s %-7s %-6s %12s\n' tool streams round "Gbit/s"
for P in 1 4; do
    for r in $(seq "$ROUNDS"); do
        # alternate which tool goes first, so a drift in machine load
        # (2 shared cores) does not favour either
        if [ $((r % 2)) -eq 1 ]; then order="iperf3 pairs"; else order="pairs iperf3"; fi
        for tool in $order; do
            if [ $tool = iperf3 ]; then
                ip netns exec $A iperf3 -c 10.201.0.2 -p 5201 -t "$SECS" -P "$P" -J >"$TMP/iperf.json"
                g=$(python3 -c 'import json,sys; print("%.3f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]/1e9))' "$TMP/iperf.json")
            else
                req=$(python3 -c 'import json,sys; print(json.dumps({"node":"a","peer":"b","endpoints":json.loads(sys.argv[1]),
                    "tests":["bandwidth"],"deadline_s":float(sys.argv[2])+10,
                    "bandwidth":{"bytes":16*2**30,"seconds":float(sys.argv[2]),"streams":int(sys.argv[3])}}))' "$EPS" "$SECS" "$P")
                g=$(ip netns exec $A "$DRIVER" probe "$req" | python3 -c 'import json,sys; b=json.load(sys.stdin)["bandwidth"]; assert "error" not in b, b; print("%.3f" % b["gbit_s"])')
            fi
            echo "$tool $P $g" >>"$TMP/results"
            printf '%-8s %-7s %-6s %12s\n' $tool "$P" "$r" "$g"
        done
    done
done
exec 3>&-
python3 - "$TMP/results" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
worst = 9.9
for p in ("1", "4"):
    i = statistics.median(float(g) for t, s, g in rows if t == "iperf3" and s == p)
    q = statistics.median(float(g) for t, s, g in rows if t == "pairs" and s == p)
    worst = min(worst, q / i)
    print("streams %s: median iperf3 %.2f Gbit/s, cluster.bandwidth %.2f Gbit/s, ratio %.1f%%" % (p, i, q, 100 * q / i))
sys.exit(0 if worst >= 0.90 else 1)
PY
