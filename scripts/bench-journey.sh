#!/usr/bin/env bash
# bench-journey.sh -- the cost of spreading a model's layers over nodes,
# measured (docs/PERFORMANCE.md, "Layer split over RPC nodes"): the same
# model, the same load, on
#   one   one llama-server on node n4 (every layer local)
#   split llama-server --rpc on n4 with its layers on rpc-server n1, n2, n3
# in network namespaces wired to one bridge (as scripts/demo-cluster.sh).
# preflight bench runs on n4 against 127.0.0.1, so what crosses the veths is
# RPC traffic only; each node's eth0 counters are read after the servers are
# ready and after the load, and the difference over the output tokens is
# the bytes moved between nodes per token.
#
#   bash scripts/bench-journey.sh [--out DIR] [--concurrency LIST]
#        [--num-prompts N] [--input-len N] [--output-len N] [--threads N]
# Root; needs scripts/install-deps-llama.sh and a built preflight
# (PF_PREFLIGHT or build/preflight).  Prints one table; the records stay in DIR.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PF="${PF_PREFLIGHT:-$ROOT/build/preflight}"
OUT="$PWD/bench-journey-out"
CONC=1,4
N=8
IN=128
OL=32
THREADS=1
while [ $# -gt 0 ]; do
    case "$1" in
    --out) OUT="$2"; shift 2 ;;
    --concurrency) CONC="$2"; shift 2 ;;
    --num-prompts) N="$2"; shift 2 ;;
    --input-len) IN="$2"; shift 2 ;;
    --output-len) OL="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    *) echo "bench-journey: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "bench-journey: needs root (network namespaces)" >&2; exit 2; }
# shellcheck disable=SC1091
. "${PF_LLAMA_PREFIX:-/opt/preflight-llama}/installed.env"
[ -x "${LLAMA_RPC_SERVER:-}" ] || { echo "bench-journey: no rpc-server: run bash scripts/install-deps-llama.sh" >&2; exit 2; }
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
P="pfb$(($$ % 100000))"
NS=("$P-n1" "$P-n2" "$P-n3" "$P-n4")
ADDR=(10.77.0.1 10.77.0.2 10.77.0.3 10.77.0.4)
cleanup() {
    for ns in "${NS[@]}" "$P-sw"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true
    done
}
trap cleanup EXIT
ip netns add "$P-sw"
ip -n "$P-sw" link add br0 type bridge
ip -n "$P-sw" link set br0 up
for i in 0 1 2 3; do
    ip netns add "${NS[$i]}"
    ip link add "v$i" netns "$P-sw" type veth peer name eth0 netns "${NS[$i]}"
    ip -n "$P-sw" link set "v$i" master br0 up
    ip -n "${NS[$i]}" link set lo up
    ip -n "${NS[$i]}" addr add "${ADDR[$i]}/24" dev eth0
    ip -n "${NS[$i]}" link set eth0 up
done
HEAD="${NS[3]}"
counters() {
    for i in 0 1 2 3; do
        ip netns exec "${NS[$i]}" sh -c 'echo $(cat /sys/class/net/eth0/statistics/rx_bytes) $(cat /sys/class/net/eth0/statistics/tx_bytes)'
    done
}
bench() { # NAME: warm up (readiness), count, load, count
    local name="$1"
    ip netns exec "$HEAD" "$PF" bench --url http://127.0.0.1:8080 --backend vllm --concurrency 1 --num-prompts 2 \
        --random-input-len 16 --random-output-len 8 --ready-timeout 120 --no-progress -q >/dev/null 2>&1 || true
    counters >"$OUT/$name-before.txt"
    ip netns exec "$HEAD" "$PF" bench --url http://127.0.0.1:8080 --backend vllm --concurrency "$CONC" \
        --num-prompts "$N" --random-input-len "$IN" --random-output-len "$OL" --random-range-ratio 1 \
        --no-progress -q --json "$OUT/$name.json" >/dev/null 2>&1 || true
    counters >"$OUT/$name-after.txt"
}
stop_all() {
    for ns in "${NS[@]}"; do
        for pid in $(ip netns pids "$ns"); do kill "$pid" 2>/dev/null || true; done
    done
    sleep 1
}
common=(-m "$SMOLLM_GGUF" --host 127.0.0.1 --port 8080 -c 4096 -np 4 -t "$THREADS" --no-webui)

# one node
ip netns exec "$HEAD" "$LLAMA_SERVER" "${common[@]}" -ngl 0 >"$OUT/one.log" 2>&1 &
bench one
stop_all

# three RPC nodes + head
for i in 0 1 2; do
    ip netns exec "${NS[$i]}" "$LLAMA_RPC_SERVER" -H "${ADDR[$i]}" -p 50052 -t "$THREADS" >"$OUT/rpc$((i + 1)).log" 2>&1 &
done
sleep 1
ip netns exec "$HEAD" "$LLAMA_SERVER" "${common[@]}" --rpc 10.77.0.1:50052,10.77.0.2:50052,10.77.0.3:50052 \
    -ngl 99 --tensor-split 1,1,1 >"$OUT/split.log" 2>&1 &
bench split
stop_all

python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
def rows(name):
    r = json.load(open("%s/%s.json" % (out, name)))
    return r["bench"]["levels"]
def moved(name):
    a = [list(map(int, l.split())) for l in open("%s/%s-before.txt" % (out, name))]
    b = [list(map(int, l.split())) for l in open("%s/%s-after.txt" % (out, name))]
    # every byte between nodes leaves one eth0 and enters another: count tx of all four
    return sum(b[i][1] - a[i][1] for i in range(4)), [(b[i][0] - a[i][0], b[i][1] - a[i][1]) for i in range(4)]
print("| setup | concurrency | output tok/s | TTFT p50 / p99 (ms) | ITL p50 / p99 (ms) | E2E p50 (ms) | failed |")
print("|---|---|---|---|---|---|---|")
for name in ("one", "split"):
    for l in rows(name):
        m = l["metrics"]
        print("| %s | %s | %.1f | %.1f / %.1f | %.1f / %.1f | %.0f | %d |" % (
            {"one": "1 node", "split": "3 RPC nodes + head"}[name], l.get("max_concurrency") or l["level"],
            m["output_throughput"], m["median_ttft_ms"], m["p99_ttft_ms"], m["median_itl_ms"], m["p99_itl_ms"],
            m["median_e2e_latency_ms"], m["failed"]))
for name in ("one", "split"):
    total, per = moved(name)
    toks = sum(l["metrics"]["total_output_tokens"] for l in rows(name))
    intoks = sum(l["metrics"]["total_input_tokens"] for l in rows(name))
    print("%s: %d B between nodes for %d output + %d input tokens: %.0f B per output token; per node (rx, tx): %s" % (
        name, total, toks, intoks, total / max(toks, 1), per))
PY
