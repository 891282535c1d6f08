#!/usr/bin/env bash
# bench_record_schema.sh -- the record `preflight bench` writes (PF_BENCH
# against the scripted SSE_SERVER) validates against docs/run-record.schema.json,
# for a clean run and for one with failures and Prometheus series.
#   bench_record_schema.sh PF_BENCH SSE_SERVER VALIDATOR WORKDIR
set -uo pipefail
BENCH="$1" SERVER="$2" VALIDATE="$3" WORK="$4"
python3 -c 'import jsonschema' 2>/dev/null || { echo "SKIPPED: python3 jsonschema missing (scripts/install-deps.sh --tests)"; exit 77; }
mkdir -p "$WORK"
rm -f "$WORK/port"
"$SERVER" --port-file "$WORK/port" --ttft-ms 2 --itl-ms 1 --tokens 8 --fault http500 --fault-every 4 &
pid=$!
trap 'kill $pid 2>/dev/null' EXIT
for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.05; done
url="http://127.0.0.1:$(cat "$WORK/port")"
"$BENCH" --url "$url" --num-prompts 10 --concurrency 1,3 --warmup-requests 0 --random-input-len 8 --no-progress -q \
    --metrics-interval 0.05 --json "$WORK/faulty.json" >/dev/null
[ $? -eq 1 ] || { echo "FAILED: a run with failures should exit 1"; exit 1; }
"$BENCH" --url "$url" --num-prompts 3 --warmup-requests 0 --random-input-len 8 --no-progress -q \
    --json "$WORK/goodput.json" --backend sglang-oai-chat --slo ttft=1000 --min-goodput 1 >/dev/null
python3 "$VALIDATE" "$WORK/faulty.json" "$WORK/goodput.json"
