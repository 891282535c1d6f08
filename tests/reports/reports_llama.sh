#!/usr/bin/env bash
# reports_llama.sh -- the report outputs of a benchmark against a real server:
# llama.cpp's llama-server with SmolLM2-135M (scripts/install-deps-llama.sh),
# launched by `preflight bench --launch` with every report flag on the live
# command.  The page passes tidy, the JUnit the XSD, the benchmark JSON has the
# sweep's throughputs and latencies, and `preflight report` of the saved record
# gives the same Markdown as the live command.
#   reports_llama.sh PREFLIGHT SRCDIR WORKDIR
# Exit 0 pass, 1 fail, 77 skip (no real server installed: never a pass).
set -uo pipefail
PF="$1" SRC="$2" W="$3"
skip() { echo "SKIPPED: $*"; exit 77; }
STAMP="${PF_LLAMA_PREFIX:-/opt/preflight-llama}/installed.env"
[ -f "$STAMP" ] || skip "no real server installed ($STAMP missing): run scripts/install-deps-llama.sh"
# shellcheck disable=SC1090
. "$STAMP"
[ -x "${LLAMA_SERVER:-}" ] && [ -f "${SMOLLM_GGUF:-}" ] || skip "llama-server or the model is missing"
command -v xmllint >/dev/null && command -v tidy >/dev/null || skip "xmllint/tidy missing (scripts/install-deps-reports.sh)"
rm -rf "$W"; mkdir -p "$W"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
timeout 300 "$PF" bench --url "http://127.0.0.1:$port" --backend vllm --concurrency 1,2 --num-prompts 4 \
    --random-input-len 32 --random-output-len 8 --no-progress -q --no-github \
    --json "$W/llama.json" --html "$W/llama.html" --junit "$W/llama.xml" --markdown "$W/llama.md" \
    --benchmark-json "$W/llama.bench.json" --prom "$W/llama.prom" \
    --launch -- "$LLAMA_SERVER" -m "$SMOLLM_GGUF" --host 127.0.0.1 --port "$port" -c 4096 -np 4 -t 2 >"$W/bench.out" 2>&1
rc=$?
if [ $rc -ne 0 ] && grep -q "server not ready (died)" "$W/bench.out"; then
    # the server itself crashed while loading (seen: SIGSEGV in a llama-server
    # built for another CPU); that says nothing about the reports
    skip "llama-server died before it was ready: $(grep -o 'log /tmp/[^ ]*' "$W/bench.out" | head -1)"
fi
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
[ $rc -eq 0 ] || { bad "bench against llama-server exited $rc"; tail -5 "$W/bench.out"; }
tidy -errors -q "$W/llama.html" >/dev/null 2>"$W/tidy.txt" || { bad "tidy:"; head -3 "$W/tidy.txt"; }
xmllint --noout --schema "$SRC/junit.xsd" "$W/llama.xml" || bad "JUnit invalid"
python3 - "$W" <<'PY' || fails=$((fails + 1))
import json, sys
w = sys.argv[1]
b = json.load(open(f"{w}/llama.bench.json")); s = json.load(open(f"{w}/llama.bench.smaller.json"))
names = {e["name"] for e in b} | {e["name"] for e in s}
need = {"bench c=1 output_throughput", "bench c=2 output_throughput", "bench c=2 p99_ttft_ms"}
if not need <= names:
    print("FAIL: missing", need - names); sys.exit(1)
print(f"ok: {len(b)} bigger-is-better and {len(s)} smaller-is-better entries")
PY
"$PF" report "$W/llama.json" -q --no-github --markdown "$W/again.md"
cmp -s "$W/llama.md" "$W/again.md" || bad "report of the saved record differs from the live command's Markdown"
grep -q "Serving benchmark" "$W/llama.html" || bad "no benchmark in the page"
[ $fails -eq 0 ] && { echo "PASSED"; exit 0; }
exit 1
