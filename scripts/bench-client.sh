#!/usr/bin/env bash
# Measure the serving-benchmark client itself against the scripted test
# server (tests/sse_server), as reported in docs/PERFORMANCE.md
# ("Serving benchmark client"):
#   1. client-added timing error at many concurrent streams: every content
#      event's client time stamp minus the server's own time stamp taken just
#      before write() (same machine, same CLOCK_MONOTONIC): (a) ITL 20 ms,
#      sleeping in epoll_wait; (b) the same with --busy-poll; (c) ITL 100 ms
#      with --busy-poll; all with --threads $THREADS (client event-loop
#      threads, default 1);
#   2. throughput: SSE events per second the client sustains on one core;
#   3. memory per active stream;
#   4. (when SGLANG_PY names a Python with sglang.benchmark.serving, see
#      scripts/install-deps-bench.sh --sglang DIR) SGLang's bench_serving on
#      the same server and load, for the throughput ratio.
#
# usage: scripts/bench-client.sh [BUILD_DIR]          (default: build)
# env:   STREAMS=1000 ITL_MS=20 JITTER_MS=5 TOKENS=100 PROMPTS=3000   accuracy run
#        TP_STREAMS=64 TP_TOKENS=2000 TP_PROMPTS=500 RUNS=3            throughput runs
#        SGLANG_PY=/path/to/venv/bin/python   OUT=/tmp/pf-bench-client
#        PIN_SERVER=0 PIN_CLIENT=1   CPUs for the server and the client (taskset); with
#                                    THREADS > 1 give the client a list, e.g. PIN_CLIENT=2-9
#        THREADS=N     --threads N for the accuracy runs (1-64 or auto; unset: the
#                      flag is not passed, one thread)
#        PARTS="1 2 3" which parts to run; ACC="a b c" which accuracy runs
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
server=$build/tests/sse_server
client=$build/tests/pf_bench
[ -x "$server" ] && [ -x "$client" ] || { echo "build first: cmake --build $build (needs $server and $client)" >&2; exit 2; }
server=$(realpath "$server"); client=$(realpath "$client")
STREAMS=${STREAMS:-1000} ITL_MS=${ITL_MS:-20} JITTER_MS=${JITTER_MS:-5} TOKENS=${TOKENS:-100}
PROMPTS=${PROMPTS:-3000} TP_STREAMS=${TP_STREAMS:-64} TP_TOKENS=${TP_TOKENS:-2000}
TP_PROMPTS=${TP_PROMPTS:-500} RUNS=${RUNS:-3}
THREADS=${THREADS:-} PARTS=${PARTS:-1 2 3} ACC=${ACC:-a b c}
want() { case " $2 " in *" $1 "*) return 0;; esac; return 1; }
OUT=${OUT:-/tmp/pf-bench-client}
mkdir -p "$OUT"; cd "$OUT"
ulimit -n 65535 2>/dev/null || ulimit -n "$(ulimit -Hn)"

pin_s="" pin_c=""
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    # PIN_SERVER / PIN_CLIENT pick other CPUs (e.g. two physical cores, not
    # hyperthread siblings, on a bigger machine)
    pin_s="taskset -c ${PIN_SERVER:-0}"; pin_c="taskset -c ${PIN_CLIENT:-1}"
fi
spid=""
cleanup() { [ -n "$spid" ] && kill "$spid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT
start_server() { # args...
    rm -f port
    $pin_s "$server" --port-file port "$@" >/dev/null 2>&1 &
    spid=$!
    for _ in $(seq 100); do [ -s port ] && break; sleep 0.05; done
    port=$(cat port)
}
stop_server() { kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null || true; spid=""; }
rec_field() { python3 -c "import json,sys; r=json.load(open('$1')); print(eval(sys.argv[1]))" "$2"; }

echo "== machine: $(nproc) CPUs, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg); pinning: ${pin_s:-none} / ${pin_c:-none}; client threads (accuracy): ${THREADS:-1}"
accuracy() { # label itl_ms jitter_ms tokens prompts [client flags...]
    local label=$1 itl=$2 jit=$3 tok=$4 n=$5; shift 5
    want "$label" "$ACC" || return 0
    echo "== 1$label. timing error: $STREAMS streams, TTFT 50 ms, ITL ${itl}+-${jit} ms, $tok tokens, $n requests ${THREADS:+--threads $THREADS }$*"
    rm -f requests.jsonl server.jsonl
    start_server --record server.jsonl --ttft-ms 50 --itl-ms "$itl" --itl-jitter-ms "$jit" \
        --tokens "$tok" --no-role
    cmd=($client --url "http://127.0.0.1:$port" --backend sglang-oai-chat --concurrency "$STREAMS"
         --num-prompts "$n" --random-input-len 64 --random-output-len "$tok"
         --random-range-ratio 1 --requests-jsonl requests.jsonl --json accuracy.json --no-progress -q
         ${THREADS:+--threads "$THREADS"} "$@")
    echo "   \$ ${pin_c:+$pin_c }${cmd[*]}"
    $pin_c "${cmd[@]}" >/dev/null || true
    stop_server
    python3 "$here/bench-accuracy.py" requests.jsonl server.jsonl
    echo "   client loop ($(rec_field accuracy.json "r['bench']['levels'][0].get('client_threads', 1)") threads): $(rec_field accuracy.json "r['bench']['levels'][0]['client_loop']")"
}
if want 1 "$PARTS"; then
accuracy a "$ITL_MS" "$JITTER_MS" "$TOKENS" "$PROMPTS"
accuracy b "$ITL_MS" "$JITTER_MS" "$TOKENS" "$PROMPTS" --busy-poll
accuracy c 100 25 60 $((STREAMS * 2)) --busy-poll
fi

if want 2 "$PARTS"; then
echo "== 2. throughput: $TP_STREAMS streams x $TP_TOKENS one-token events, server writes whole responses at once"
start_server --burst --tokens "$TP_TOKENS" --ttft-ms 0 --no-role
cmd=($client --url "http://127.0.0.1:$port" --backend sglang-oai-chat --concurrency "$TP_STREAMS"
     --num-prompts "$TP_PROMPTS" --random-input-len 16 --random-output-len "$TP_TOKENS"
     --random-range-ratio 1 --json throughput.json --no-progress -q)
echo "   \$ ${pin_c:+$pin_c }${cmd[*]}"
for i in $(seq "$RUNS"); do
    /usr/bin/time -f "%U %S %e %M" -o time.txt $pin_c "${cmd[@]}" >/dev/null
    read -r u s e m < time.txt
    ev=$(rec_field throughput.json "r['bench']['levels'][0]['metrics']['total_output_tokens']")
    d=$(rec_field throughput.json "r['bench']['levels'][0]['metrics']['duration']")
    python3 -c "print(f'   run $i: {$ev} events in {$d:.3f} s = {$ev/$d:,.0f} events/s; CPU {$u+$s:.2f} s of {$e} s wall; max RSS $m KiB')"
done

if [ -n "${SGLANG_PY:-}" ]; then
    echo "== 2b. SGLang bench_serving ($("$SGLANG_PY" -c 'import sglang; print(sglang.__version__)')) on the same server and load"
    # a word-level tokenizer that knows the server's " hi" tokens, and a
    # ShareGPT-format file for --dataset-name random (no hub access needed)
    "$SGLANG_PY" - <<'PY'
import json, random
from tokenizers import Tokenizer, models, pre_tokenizers, decoders
words = ["[UNK]", "hi"] + "the of and to in is that for it as with was on be at by this had not are but from or have an they which one you".split()
tok = Tokenizer(models.WordLevel(vocab={w: i for i, w in enumerate(dict.fromkeys(words))}, unk_token="[UNK]"))
tok.pre_tokenizer = pre_tokenizers.Whitespace()
tok.decoder = decoders.WordPiece(prefix="##")
import os
os.makedirs("tok", exist_ok=True)
tok.save("tok/tokenizer.json")
json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "unk_token": "[UNK]", "model_max_length": 100000}, open("tok/tokenizer_config.json", "w"))
random.seed(0)
W = words[2:]
json.dump([{"id": str(i), "conversations": [{"from": "human", "value": " ".join(random.choice(W) for _ in range(40))},
                                            {"from": "gpt", "value": " ".join(random.choice(W) for _ in range(40))}]}
           for i in range(4000)], open("sharegpt.json", "w"))
PY
    cmd=("$SGLANG_PY" -m sglang.benchmark.serving --backend sglang-oai-chat --base-url "http://127.0.0.1:$port"
         --model test-model --tokenizer "$OUT/tok" --dataset-name random --dataset-path "$OUT/sharegpt.json"
         --random-input-len 16 --random-output-len "$TP_TOKENS" --random-range-ratio 1
         --num-prompts "$TP_PROMPTS" --max-concurrency "$TP_STREAMS" --disable-tqdm --output-file "$OUT/sglang.jsonl")
    echo "   \$ ${pin_c:+$pin_c }${cmd[*]}"
    rm -f sglang.jsonl
    for i in $(seq "$RUNS"); do
        $pin_c "${cmd[@]}" > sglang.txt 2>&1 || { tail -5 sglang.txt; break; }
        python3 -c "
import json
r = [json.loads(l.replace('Infinity', 'null')) for l in open('sglang.jsonl')][-1]
print(f\"   run $i: {r['total_output_tokens']} events in {r['duration']:.3f} s = {r['total_output_tokens']/r['duration']:,.0f} events/s (bench_serving's own duration)\")"
    done
fi
stop_server
fi

want 3 "$PARTS" || exit 0
echo "== 3. memory per active stream (VmRSS 1 s into the run, streams of 2 s)"
start_server --ttft-ms 50 --itl-ms 50 --tokens 40 --no-role
declare -A rss
for c in 1 "$STREAMS"; do
    $pin_c "$client" --url "http://127.0.0.1:$port" --backend sglang-oai-chat --concurrency "$c" \
        --num-prompts "$c" --warmup-requests 0 --random-input-len 256 --random-output-len 40 \
        --random-range-ratio 1 --json mem.json --no-progress -q >/dev/null 2>&1 &
    cp=$!
    sleep 1
    rss[$c]=$(awk '/VmRSS/ {print $2}' "/proc/$cp/status")
    wait "$cp" || true
done
stop_server
python3 -c "
a, b, n = ${rss[1]}, ${rss[$STREAMS]}, $STREAMS
print(f'   VmRSS {a} KiB with 1 stream, {b} KiB with {n}: {(b - a) / (n - 1):.1f} KiB per stream (its dataset row and request body included)')"
