#!/usr/bin/env bash
# One signal policy (core/sig.h), tested for every command with the real
# binary: SIGINT, SIGTERM and SIGHUP stop the work, the record is still
# written (incomplete, naming the signal, exit 3); a second signal exits at
# once; with --launch the server's whole tree is gone afterwards, even a
# server that ignores SIGTERM.
#   harden_signals.sh PREFLIGHT SSE_SERVER
set -uo pipefail
P=$(realpath "$1") SERVER=$(realpath "$2")
d=$(mktemp -d)
spid=""
cleanup() { [ -n "$spid" ] && kill "$spid" 2>/dev/null; pkill -KILL -f "pf-harden-marker-$$" 2>/dev/null; rm -rf "$d"; }
trap cleanup EXIT
cd "$d" || exit 1
fails=0
bad() { echo "FAIL: $*"; [ -f out.txt ] && tail -5 out.txt; fails=$((fails + 1)); }
rec() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$1" "$2" 2>&1; }
now() { date +%s.%N; }
# running = exists and is not a zombie (a zombie has stopped; in a container
# nobody may reap it)
alive() { [ -n "$1" ] && [ -e "/proc/$1" ] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null; }
# wait until PID has installed its SIGTERM handler (SigCgt bit 14 in
# /proc/PID/status): a signal sent before that would kill it the default way,
# which tests nothing -- no fixed sleep a loaded machine can outrun
# and only once PID runs preflight itself: between bash's fork and exec the
# child is still bash, which catches SIGTERM too (its own handler, exit 143)
wait_handler() {
    local exe
    exe=$(readlink -f "$P")
    for _ in $(seq 1000); do
        if [ "$(readlink -f "/proc/$1/exe" 2>/dev/null)" != "$exe" ]; then
            sleep 0.01
            continue
        fi
        m=$(awk '/^SigCgt:/ {print $2}' "/proc/$1/status" 2>/dev/null)
        [ -n "$m" ] && [ $(( 0x$m & 0x4000 )) -ne 0 ] && return 0
        sleep 0.01
    done
    return 1
}
lt() { python3 -c "import sys; sys.exit(0 if $1 < $2 else 1)"; }

# A tool that hangs: check's toolchain.ptxas runs it (deadline 60 s); a
# signal must stop it at once, and the record must still be written.
mkdir -p cuda/bin
cat >cuda/bin/ptxas <<SH
#!/bin/sh
echo \$\$ >>$d/tool.pids
exec sleep 60
SH
chmod +x cuda/bin/ptxas

# ---- check, each signal
for sig in INT TERM HUP; do
    rm -f c.json
    t0=$(now)
    CUDA_HOME=$d/cuda "$P" check --arch 9.0 --only toolchain. \
        --timeout 60 --json c.json >out.txt 2>&1 &
    pid=$!
    wait_handler $pid
    kill -$sig $pid
    wait $pid; rc=$?
    took=$(python3 -c "print(round($(now) - $t0, 2))")
    [ $rc -eq 3 ] || bad "check SIG$sig: exit $rc, want 3"
    lt "$took" 5 || bad "check SIG$sig: took $took s"
    r=$(rec c.json "r['incomplete_reason']")
    case "$r" in *interrupted*) ;; *) bad "check SIG$sig: record not marked interrupted: $r" ;; esac
    sleep 0.1
    for tp in $(cat tool.pids 2>/dev/null); do alive "$tp" && bad "check SIG$sig left the tool ($tp) running"; done
    rm -f tool.pids
done

# ---- check, a second signal exits at once
CUDA_HOME=$d/cuda "$P" check --arch 9.0 --only toolchain. \
    --timeout 60 >out.txt 2>&1 &
pid=$!
wait_handler $pid
kill -TERM $pid; kill -INT $pid
wait $pid; rc=$?
# both pending at once: the kernel delivers the lower number (SIGINT) first
[ $rc -eq 143 ] || [ $rc -eq 130 ] || bad "check, SIGTERM and SIGINT: exit $rc, want 143 or 130 (at once)"
# the same SIGTERM sent twice at once by one process (GNU timeout signals
# the child, then its process group) is one request: the record is written
rm -f c.json
CUDA_HOME=$d/cuda timeout -s TERM 0.5 "$P" check --arch 9.0 --only toolchain. --timeout 60 --json c.json >out.txt 2>&1
rc=$?
[ $rc -eq 124 ] || bad "check under timeout: exit $rc, want 124 (timeout's own)"
r=$(rec c.json "r['incomplete_reason']")
case "$r" in *interrupted*SIGTERM*) ;; *) bad "check under timeout: no record saying interrupted: $r" ;; esac

# ---- kernels: a tree of 10,000 files, SIGTERM as soon as the handler is there
mkdir tree
python3 - <<'PY'
import os
for i in range(100):
    d = f'tree/d{i}'; os.mkdir(d)
    for j in range(100):
        with open(f'{d}/lib{j}.so', 'wb') as f: f.write(b'\x7fELF' + b'\0' * 60)
PY
"$P" kernels --arch 9.0 tree -q --json k.json >out.txt 2>&1 &
pid=$!
wait_handler $pid
kill -TERM $pid
wait $pid; rc=$?
[ $rc -eq 3 ] || bad "kernels SIGTERM: exit $rc, want 3"
r=$(rec k.json "r['incomplete_reason']")
case "$r" in *interrupted*SIGTERM*) ;; *) bad "kernels SIGTERM: record not marked interrupted (finished before the signal?): $r" ;; esac
rm -rf tree

# ---- bench against a running server: SIGTERM and SIGHUP mid-level
rm -f port
"$SERVER" --port-file port --ttft-ms 5 --itl-ms 5 --tokens 1000 >/dev/null 2>&1 &
spid=$!
for _ in $(seq 200); do [ -s port ] && break; sleep 0.05; done
url="http://127.0.0.1:$(cat port)"
for sig in TERM HUP; do
    rm -f b.json requests.jsonl
    "$P" bench --url "$url" --concurrency 4 --num-prompts 20 --random-input-len 8 \
        --warmup-requests 0 --no-progress --requests-jsonl requests.jsonl --json b.json >out.txt 2>&1 &
    pid=$!
    sleep 0.6
    kill -$sig $pid
    wait $pid; rc=$?
    [ $rc -eq 3 ] || bad "bench SIG$sig: exit $rc, want 3"
    a=$(rec b.json "r['bench']['levels'][0]['aborted']")
    [ "$a" = "interrupted (SIG$sig)" ] || bad "bench SIG$sig: aborted: $a"
    [ -s requests.jsonl ] || bad "bench SIG$sig: requests.jsonl lost"
done
kill $spid; wait $spid 2>/dev/null; spid=""

# ---- bench --launch: a server that ignores SIGINT and SIGTERM and has a
# child; preflight gets SIGTERM while waiting for it to be ready.
cat >stubborn.sh <<SH
#!/bin/sh
trap '' INT TERM
sleep 300 &   # pf-harden-marker-$$
echo \$! > child.pid
echo \$\$ > server.pid
while :; do sleep 1; done
SH
chmod +x stubborn.sh
for mode in once twice; do
    rm -f child.pid server.pid l.json
    t0=$(now)
    PREFLIGHT_STOP_GRACE_S=0.5 "$P" bench --url http://127.0.0.1:9 --num-prompts 1 --json l.json \
        --launch -- "$d/stubborn.sh" >out.txt 2>&1 &
    pid=$!
    for _ in $(seq 600); do [ -s child.pid ] && break; sleep 0.05; done
    [ -s child.pid ] || bad "launch $mode: the server did not start"
    kill -TERM $pid
    if [ $mode = twice ]; then sleep 0.3; kill -INT $pid; fi
    wait $pid; rc=$?
    took=$(python3 -c "print(round($(now) - $t0, 2))")
    sleep 0.2
    for f in server.pid child.pid; do
        p2=$(cat $f 2>/dev/null)
        alive "$p2" && bad "launch $mode: $f ($p2) still running after preflight exited"
    done
    if [ $mode = once ]; then
        [ $rc -eq 3 ] || bad "launch once: exit $rc, want 3"
        s=$(rec l.json "r['bench']['launch']['stop']['stage']")
        [ "$s" = SIGKILL ] || bad "launch once: stop stage $s, want SIGKILL (the server ignores SIGTERM)"
    else
        [ $rc -eq 130 ] || bad "launch twice: exit $rc, want 130"
        lt "$took" 5 || bad "launch twice: took $took s, want at once"
    fi
done

[ $fails -eq 0 ] && echo "signal policy held for check, kernels, bench, bench --launch"
[ $fails -eq 0 ]
