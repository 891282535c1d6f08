#!/bin/sh
# record_roundtrip.sh -- records written by the REAL binary, from every
# command (check, kernels, bench against the scripted SSE server), read back
# with pf_run_load and written again: byte-identical.  Then the loader on
# damaged copies of those records: a truncated file (a crashed run), a file
# that is not JSON, another schema -- each refused with the file named.
#   record_roundtrip.sh PREFLIGHT RECORD_ROUNDTRIP SSE_SERVER
pf="$1"; rt="$2"; server="$3"
work=$(mktemp -d /tmp/pf_rt_XXXXXX)
spid=
trap '[ -n "$spid" ] && kill $spid 2>/dev/null; rm -rf "$work"' EXIT
fails=0
same() { # same NAME: round-trip $work/NAME.json
    if ! "$rt" "$work/$1.json" "$work/$1.back.json"; then
        echo "FAIL: $1: the record does not load"; fails=$((fails+1)); return; fi
    if cmp -s "$work/$1.json" "$work/$1.back.json"; then
        echo "ok: $1 round-trips byte for byte ($(wc -c < "$work/$1.json") bytes)"
    else
        echo "FAIL: $1 changed on the way back:"; diff "$work/$1.json" "$work/$1.back.json" | head -10
        fails=$((fails+1))
    fi
}
refused() { # refused FILE PATTERN
    out=$("$rt" "$1" "$work/never.json" 2>&1); rc=$?
    if [ "$rc" -ne 1 ] || ! printf '%s' "$out" | grep -q -- "$2" || ! printf '%s' "$out" | grep -q -- "$1"; then
        echo "FAIL: loading $1: rc $rc, '$out' (wanted '$2' and the file name)"; fails=$((fails+1))
    else
        echo "ok: $(basename "$1") refused: $out"
    fi
}

# check: this node, another architecture with --strict, a judged env file
"$pf" check --json "$work/check.json" >/dev/null 2>&1
same check
"$pf" check --arch 11.0 --strict --json "$work/thor.json" >/dev/null 2>&1
same thor
printf 'NCCL_SOCKET_IFNAME=lo\nGLOO_SOCKET_IFNAME=lo\n' > "$work/plan.env"
"$pf" check --only net.,env. --env-file "$work/plan.env" --json "$work/envfile.json" >/dev/null 2>&1
same envfile
grep -q "\"env_source\": \"file:$work/plan.env\"" "$work/envfile.json" ||
    { echo "FAIL: env_source does not name the env file"; fails=$((fails+1)); }

# kernels: a directory with a broken library and a text file
mkdir "$work/libs"
: > "$work/libs/libempty.so"
printf 'not a binary\n' > "$work/libs/notes.so.txt"
"$pf" kernels --arch 12.1 --driver 13.0 "$work/libs" "$work/libs/libempty.so" --json "$work/kernels.json" >/dev/null 2>&1
same kernels

# bench: the scripted SSE server, with failures (a bench.* check fails)
"$server" --port-file "$work/port" --ttft-ms 1 --itl-ms 1 --tokens 4 --fault http500 --fault-every 3 &
spid=$!
i=0; while [ ! -s "$work/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
url="http://127.0.0.1:$(cat "$work/port")"
"$pf" bench --url "$url" --num-prompts 6 --concurrency 1,2 --warmup-requests 0 --random-input-len 8 \
    --no-progress -q --json "$work/bench.json" >/dev/null 2>&1
same bench

# damaged copies
size=$(wc -c < "$work/check.json")
head -c $((size / 2)) "$work/check.json" > "$work/crashed.json"
refused "$work/crashed.json" "truncated"
printf 'exit_code=3\n' > "$work/notjson.json"
refused "$work/notjson.json" "not valid JSON: line 1, column"
sed 's|"preflight.run/1"|"preflight.run/2"|' "$work/check.json" > "$work/future.json"
refused "$work/future.json" 'schema "preflight.run/2"'
sed 's|"status": "[a-z]*"|"status": "ok"|' "$work/thor.json" > "$work/badstatus.json"
refused "$work/badstatus.json" "checks\[0\].status is 'ok'"
: > "$work/empty.json"
refused "$work/empty.json" "is empty"

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all round-trips byte-identical, damaged records refused"
