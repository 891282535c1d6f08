#!/usr/bin/env bash
# bench_mt_cli.sh -- `preflight bench --threads` through the real client
# binary (PF_BENCH) against the scripted server (SSE_SERVER): bad values exit
# 2 naming the flag, the record says how many threads each level used, auto
# resolves per level, and a real Ctrl-C cancels the streams of every thread
# promptly with everything measured kept.
#   bench_mt_cli.sh PF_BENCH SSE_SERVER WORKDIR
set -uo pipefail
BENCH=$(realpath "$1") SERVER=$(realpath "$2") WORK="$3"
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK" || exit 1
fail() { echo "FAILED: $*"; [ -f out.txt ] && tail -20 out.txt; exit 1; }
spid=""
cleanup() { [ -n "$spid" ] && kill "$spid" 2>/dev/null; wait 2>/dev/null; }
trap cleanup EXIT
start_server() {
    rm -f port
    "$SERVER" --port-file port "$@" >/dev/null 2>&1 &
    spid=$!
    for _ in $(seq 200); do [ -s port ] && break; sleep 0.05; done
    [ -s port ] || fail "sse_server did not start"
    url="http://127.0.0.1:$(cat port)"
}
stop_server() { kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null; spid=""; }
# jq-less field access: rec FILE EXPR (r is the record)
rec() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$1" "$2"; }
# run with a deadline: `timeout` exits 124 when it had to kill
bench() { timeout -s KILL 60 "$BENCH" "$@" >out.txt 2>&1; }

# 1. bad values: exit 2 before anything is sent, the message names the flag
for v in 0 65 two -1 4x ""; do
    bench --url http://127.0.0.1:1 --threads "$v"
    rc=$?
    [ $rc -eq 2 ] || fail "--threads '$v': exit $rc, want 2"
    grep -q -- "--threads" out.txt || fail "--threads '$v': the message does not name the flag"
done
bench --help && grep -q -- "--threads N|auto" out.txt || fail "--help does not describe --threads"

# 2. --threads 4 over two levels: a level never has more threads than slots
start_server --ttft-ms 5 --itl-ms 2 --tokens 8
bench --url "$url" --threads 4 --concurrency 2,8 --num-prompts 24 --random-input-len 8 \
    --no-progress -q --json r1.json || fail "--threads 4: exit $?"
[ "$(rec r1.json "r['bench']['config']['threads']")" = 4 ] || fail "config.threads is not 4"
[ "$(rec r1.json "[l['client_threads'] for l in r['bench']['levels']]")" = "[2, 4]" ] ||
    fail "client_threads per level: $(rec r1.json "[l['client_threads'] for l in r['bench']['levels']]"), want [2, 4]"
[ "$(rec r1.json "[l['sent'] for l in r['bench']['levels']]")" = "[24, 24]" ] || fail "not every request sent"
[ "$(rec r1.json "max(l['peak_in_flight'] for l in r['bench']['levels'][1:])")" = 8 ] ||
    fail "peak_in_flight of the 8-slot level is not 8"

# 3. auto: 8 streams need one thread; recorded as "auto"
bench --url "$url" --threads=auto --concurrency 8 --num-prompts 10 --random-input-len 8 \
    --no-progress -q --json r2.json || fail "--threads auto: exit $?"
[ "$(rec r2.json "r['bench']['config']['threads']")" = auto ] || fail "config.threads is not auto"
[ "$(rec r2.json "r['bench']['levels'][0]['client_threads']")" = 1 ] || fail "auto for 8 streams is not 1 thread"
stop_server

# 4. a real Ctrl-C: 8 streams of 5 s on 4 threads, SIGINT at 0.6 s
start_server --ttft-ms 5 --itl-ms 5 --tokens 1000
rm -f requests.jsonl
t0=$(date +%s.%N)
timeout -s KILL 30 "$BENCH" --url "$url" --threads 4 --concurrency 8 --num-prompts 50 \
    --random-input-len 8 --warmup-requests 0 --no-progress --requests-jsonl requests.jsonl \
    --json r3.json >out.txt 2>&1 &
cpid=$!
sleep 0.6
kill -INT $cpid
wait $cpid
rc=$?
took=$(python3 -c "print(f'{$(date +%s.%N) - $t0:.2f}')")
stop_server
[ $rc -eq 3 ] || fail "Ctrl-C: exit $rc, want 3"
python3 -c "import sys; sys.exit(0 if $took < 3.0 else 1)" || fail "Ctrl-C at 0.6 s, exit after $took s"
lv="r['bench']['levels'][0]"
[ "$(rec r3.json "$lv['aborted']")" = "interrupted (Ctrl-C)" ] || fail "aborted: $(rec r3.json "$lv.get('aborted')")"
[ "$(rec r3.json "($lv['sent'], $lv['not_sent'], $lv['failures']['cancelled']['count'])")" = "(8, 42, 8)" ] ||
    fail "sent/not_sent/cancelled: $(rec r3.json "($lv['sent'], $lv['not_sent'], $lv['failures'])")"
[ "$(wc -l < requests.jsonl)" -eq 8 ] || fail "requests.jsonl has $(wc -l < requests.jsonl) lines, want 8"
echo "ok: --threads flag, per-level threads, auto, Ctrl-C over 4 threads in ${took} s"
