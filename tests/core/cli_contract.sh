#!/bin/sh
# Exit-code contract and messages of the CLI (docs/EXIT-CODES.md).
pf="$1"
fails=0
expect() { # expect CODE PATTERN -- ARGS...
    want=$1; pat=$2; shift 3
    out=$("$pf" "$@" 2>&1); got=$?
    if [ "$got" -ne "$want" ]; then echo "FAIL: preflight $* exited $got, wanted $want"; fails=$((fails+1)); return; fi
    if [ -n "$pat" ] && ! printf '%s' "$out" | grep -q -- "$pat"; then
        echo "FAIL: preflight $*: output lacks '$pat':"; printf '%s\n' "$out"; fails=$((fails+1)); return; fi
    echo "ok: preflight $* -> $got"
}
expect 2 "usage: preflight" -- 
expect 0 "usage: preflight" -- --help
expect 0 "preflight [0-9]" -- --version
expect 2 "not a preflight command" -- frobnicate
expect 0 "usage: preflight check" -- check --help
expect 0 "usage: preflight check" -- help check
expect 2 "unknown option '--frob'" -- check --frob
expect 2 "not a compute capability" -- check --arch banana
expect 2 "--arch needs a compute capability" -- check --arch
expect 2 "must be an integer" -- check --pp 0
expect 2 "must be a number" -- check --mem-fraction-static 1.5
expect 2 "matches no check" -- check --only nothing.
expect 0 "gpu.driver" -- check --list
expect 3 "cannot write the JSON record" -- check --only gpu. --json /nonexistent-dir/r.json
echo "$fails failed"
[ "$fails" -eq 0 ]
