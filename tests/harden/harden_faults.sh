#!/usr/bin/env bash
# The fault matrix of docs/RELIABILITY.md, the rows that run on one machine:
# each block is one row (what is done, what preflight must do, what is kept).
#   harden_faults.sh PREFLIGHT SSE_SERVER
# Rows needing root (a small tmpfs for "disk full") are skipped without it;
# exit 77 only if nothing could run.
set -uo pipefail
P=$(realpath "$1") SERVER=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
d=$(mktemp -d)
spid="" mnt=""
cleanup() { [ -n "$spid" ] && kill "$spid" 2>/dev/null; [ -n "$mnt" ] && umount "$mnt" 2>/dev/null; rm -rf "$d"; }
trap cleanup EXIT
cd "$d" || exit 1
fails=0
bad() { echo "FAIL: $*"; [ -f out.txt ] && tail -3 out.txt; fails=$((fails + 1)); }
row() { echo "row: $*"; }
rec() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$1" "$2" 2>&1; }

row "disk full while the record is written (a 64 KiB tmpfs)"
if [ "$(id -u)" -eq 0 ] && mkdir full && mount -t tmpfs -o size=64k tmpfs full 2>/dev/null; then
    mnt=$d/full
    echo '{"old": "record"}' >full/r.json
    head -c 60000 /dev/zero >full/filler 2>/dev/null
    "$P" check --only env. --json full/r.json >out.txt 2>&1
    rc=$?
    [ $rc -eq 3 ] || bad "disk full: exit $rc, want 3"
    grep -q 'No space left' out.txt || bad "disk full: no message naming ENOSPC"
    [ "$(cat full/r.json)" = '{"old": "record"}' ] || bad "disk full: the previous record was damaged"
    ls -A full | grep -q tmp && bad "disk full: a temp file was left: $(ls -A full)"
    umount full; mnt=""
else
    echo "  skipped: needs root to mount a tmpfs"
fi

row "output directory not writable / vanished before the write"
mkdir ro && chmod 555 ro
if [ "$(id -u)" -ne 0 ]; then
    "$P" check --only env. --json ro/r.json >out.txt 2>&1
    [ $? -eq 3 ] && grep -q 'ro/r.json' out.txt || bad "unwritable dir: want exit 3 and the path named"
fi
"$P" check --only env. --json gone/r.json >out.txt 2>&1
rc=$?
[ $rc -eq 3 ] || bad "missing dir: exit $rc, want 3"
grep -q 'gone/r.json' out.txt || bad "missing dir: the message does not name the path"
grep -q 'PASS\|FAIL\|SKIP' out.txt || bad "missing dir: the console table was not printed"

row "a tool that hangs (ptxas sleeping) and one that floods output"
mkdir -p hang/bin flood/bin
printf '#!/bin/sh\nexec sleep 30\n' >hang/bin/ptxas
printf '#!/bin/sh\nexec yes ptxas-flood\n' >flood/bin/ptxas
chmod +x hang/bin/ptxas flood/bin/ptxas
t0=$(date +%s)
CUDA_HOME=$d/hang "$P" check --arch 9.0 --only toolchain. --timeout 1 --json h.json >out.txt 2>&1
took=$(( $(date +%s) - t0 ))
[ $took -lt 15 ] || bad "hanging tool: took $took s with --timeout 1"
grep -q 'timed out' h.json || bad "hanging tool: the record does not say it timed out"
t0=$(date +%s)
CUDA_HOME=$d/flood "$P" check --arch 9.0 --only toolchain. --timeout 2 --json f.json >out.txt 2>&1
took=$(( $(date +%s) - t0 ))
[ $took -lt 15 ] || bad "flooding tool: took $took s"
[ "$(stat -c %s f.json)" -lt 1000000 ] || bad "flooding tool: the record grew to $(stat -c %s f.json) bytes"
pgrep -f 'yes ptxas-flood' >/dev/null && bad "flooding tool left running"

row "a dataset file that grows while it is read (bounded by the cap, never hangs)"
python3 -c "
import json
with open('grow.jsonl','w') as f:
    for i in range(2000): f.write(json.dumps({'prompt': 'p%d' % i, 'output_len': 4}) + '\n')"
( for _ in $(seq 200); do echo '{"prompt": "late", "output_len": 4}' >>grow.jsonl; done ) &
gp=$!
timeout 30 "$P" bench --url http://127.0.0.1:9 --dataset jsonl --dataset-path grow.jsonl --num-prompts 5 \
    --json g.json >out.txt 2>&1
rc=$?
wait $gp
[ $rc -eq 124 ] && bad "growing dataset: hung"
[ "$(rec g.json "r['bench']['dataset']['rows']")" = 5 ] || bad "growing dataset: rows $(rec g.json "r['bench']['dataset']")"

row "a server that crashes mid-stream"
rm -f port
"$SERVER" --port-file port --tokens 200 --ttft-ms 2 --itl-ms 5 --die-after 3 >/dev/null 2>&1 &
spid=$!
for _ in $(seq 300); do [ -s port ] && break; sleep 0.05; done
timeout 60 "$P" bench --url "http://127.0.0.1:$(cat port)" --concurrency 2 --num-prompts 6 --random-input-len 4 \
    --warmup-requests 0 --no-progress --requests-jsonl cr.jsonl --json cr.json >out.txt 2>&1
rc=$?
[ $rc -eq 124 ] && bad "server crash: preflight hung"
[ -s cr.json ] || bad "server crash: no record"
n=$(rec cr.json "sum(f['count'] for f in r['bench']['levels'][0]['failures'].values())")
case "$n" in 0|*Trace*) bad "server crash: no failure recorded: $n" ;; esac
kill $spid 2>/dev/null; wait $spid 2>/dev/null; spid=""

[ $fails -eq 0 ] && echo "fault matrix rows held"
[ $fails -eq 0 ]
