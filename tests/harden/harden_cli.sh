#!/usr/bin/env bash
# Issue 13's smaller defects through the real binary, one block each:
#   harden_cli.sh PREFLIGHT PTXAS_MKFIXTURE
set -uo pipefail
P=$(realpath "$1") MKFX=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
d=$(mktemp -d)
spid=""
cleanup() { [ -n "$spid" ] && kill "$spid" 2>/dev/null; rm -rf "$d"; }
trap cleanup EXIT
cd "$d" || exit 1
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
rec() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$1" "$2" 2>&1; }
serve() {  # serve MODE: a hostile_server.py, $url set
    [ -n "$spid" ] && { kill "$spid"; wait "$spid" 2>/dev/null; }
    rm -f port
    python3 "$HERE/hostile_server.py" "$1" port >/dev/null 2>&1 &
    spid=$!
    for _ in $(seq 300); do [ -s port ] && break; sleep 0.05; done
    url="http://127.0.0.1:$(cat port)"
}
B() { timeout -s KILL 60 "$P" bench --url "$url" --num-prompts 2 --warmup-requests 0 --random-input-len 4 \
      --random-output-len 4 --no-progress "$@"; }

# 4. usage counts near INT64_MAX: no signed overflow (UBSan abort in the
# sanitizer build, a negative total in Release)
serve bigusage
B --json big.json --requests-jsonl big.jsonl >out.txt 2>&1
rc=$?
[ $rc -le 3 ] || bad "bigusage: exit $rc (crash?): $(tail -3 out.txt)"
v=$(rec big.json "[l['metrics'].get('total_input_tokens_server') for l in r['bench']['levels']]")
case "$v" in *-*|*Trace*) bad "bigusage: total_input_tokens_server = $v" ;; esac

# 5a. a failure text that is not valid UTF-8 is kept (escaped), in the
# JSONL and in the record's examples
serve badutf8
B --json u.json --requests-jsonl u.jsonl >out.txt 2>&1
n=$(python3 -c "import json; print(sum(1 for l in open('u.jsonl') if json.loads(l).get('error')))" 2>&1)
[ "$n" = 2 ] || bad "badutf8: $n JSONL rows with an error, want 2"
ex=$(rec u.json "[e for l in r['bench']['levels'] for f in l['failures'].values() for e in f['examples']]")
case "$ex" in *'\\xFF'*) ;; *) bad "badutf8: failure examples lost or unescaped: $ex" ;; esac

# 6. terminal safety: a server's error with ESC sequences and a newline, a
# file name with ESC and newline: nothing raw reaches the terminal
serve escape
B -v >out.txt 2>&1
grep -q $'\x1b' out.txt && bad "escape: a raw ESC from the server reached the console: $(grep -a $'\x1b' out.txt | cat -v | head -2)"
grep -q '^FAKE  PASS' out.txt && bad "escape: the server forged a console line"
f=$(printf 'lib\033[31mred\nFAKE.so')
printf 'x' >"$f"
"$P" kernels --arch 9.0 "$f" >out.txt 2>&1
grep -q $'\x1b' out.txt && bad "kernels: a raw ESC from a file name reached the console"
grep -q '^FAKE' out.txt && bad "kernels: a file name forged a console line"
grep -q 'lib\\x1B\[31mred\\x0AFAKE.so' out.txt || bad "kernels: the file name is not shown escaped: $(cat -v out.txt | head -2)"

# 7. a relative --venv: toolchain.ptxas judges the same as with the absolute path
if [ -x /usr/local/cuda/bin/ptxas ] || true; then
    set -- $("$MKFX") || exit 1
    root=$1 venv=$2
    unset TRITON_PTXAS_PATH TRITON_PTXAS_BLACKWELL_PATH CUDA_HOME CUDA_PATH VIRTUAL_ENV
    "$P" check --only toolchain.ptxas --arch 9.0 --venv "$venv" --json abs.json >/dev/null 2>&1
    (cd "$(dirname "$venv")" && "$P" check --only toolchain.ptxas --arch 9.0 --venv "$(basename "$venv")" \
        --json "$d/rel.json" >/dev/null 2>&1)
    a=$(rec abs.json "[c['status'] for c in r['checks']]")
    r=$(rec rel.json "[c['status'] for c in r['checks']]")
    [ "$a" = "$r" ] || bad "relative --venv: $r, absolute: $a ($(rec rel.json "r['checks'][0]['summary']"))"
    rm -rf "$root"
fi

# --arch with an overflowing number is a usage error, not 1.0
"$P" check --arch 4294967297.0 --only gpu.kernels >out.txt 2>&1
rc=$?
[ $rc -eq 2 ] || bad "--arch 4294967297.0: exit $rc, want 2: $(head -2 out.txt)"

# overlapping tensors are not distinct weight bytes: the shard is refused
mkdir -p model
python3 - <<'PY'
import json, struct
h = json.dumps({"a": {"dtype": "F32", "shape": [256], "data_offsets": [0, 1024]},
                "b": {"dtype": "F32", "shape": [256], "data_offsets": [0, 1024]}}).encode()
open("model/model.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + b"\0" * 1024)
PY
"$P" check --model model --arch 9.0 --only mem. -v >out.txt 2>&1
grep -q 'overlap' out.txt || bad "overlapping tensors not refused: $(head -2 out.txt)"

# a ShareGPT file whose two-turn entries are all too short: the message must
# not say "no usable conversation ... 1 of 3 entries had them"
printf '[{"conversations":[{"value":"a"},{"value":"b"}]},{"x":1},{"conversations":[]}]' >sg.json
"$P" bench --url http://127.0.0.1:9 --dataset sharegpt --dataset-path sg.json --num-prompts 1 >out.txt 2>&1
grep -q 'shorter than 2 tokens' out.txt || bad "ShareGPT too-short message: $(head -2 out.txt)"

# a "missing" verdict never counts "0 missing"
# (a real sm_90 cubin from nvcc, kept as a fuzz seed)
"$P" kernels --arch 11.0 "$HERE/../../fuzz/corpus/fatbin/sm90.cubin" >out.txt 2>&1
grep -q 'missing for 11.0' out.txt || bad "sm_90 cubin on 11.0 not judged missing: $(head -1 out.txt)"
grep -q 'missing for 11.0.* 0 missing' out.txt && bad "a missing verdict says 0 missing: $(head -1 out.txt)"

[ $fails -eq 0 ] && echo "all hardening CLI cases held"
[ $fails -eq 0 ]
