#!/bin/sh
# `preflight kernels`: exit codes, per-file errors, --list, JSON record.
# usage: kernels_cli.sh PF_KERNELS_TOOL PYTHON SOURCE_DIR
pf="$1"; py="$2"; src="$3"
fails=0
tmp=$(mktemp -d /tmp/pf_kcli_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
expect() { # expect CODE PATTERN -- ARGS...
    want=$1; pat=$2; shift 3
    out=$("$pf" "$@" 2>&1); got=$?
    if [ "$got" -ne "$want" ]; then echo "FAIL: kernels $* exited $got, wanted $want"; printf '%s\n' "$out" | tail -5; fails=$((fails+1)); return; fi
    if [ -n "$pat" ] && ! printf '%s' "$out" | grep -q -- "$pat"; then
        echo "FAIL: kernels $*: output lacks '$pat':"; printf '%s\n' "$out" | tail -5; fails=$((fails+1)); return; fi
    echo "ok: kernels $* -> $got"
}
expect 0 "usage: preflight kernels" -- --help
expect 2 "name at least one" --
expect 2 "is not a directory" -- --venv /nonexistent/venv
expect 2 "needs a directory" -- --venv
expect 2 "not a compute capability" -- --arch banana /usr/lib
expect 2 "--arch needs a compute capability" -- --arch
expect 2 "not a CUDA version" -- --driver x /usr/lib
expect 2 "unknown option '--frob'" -- --frob /usr/lib

# per-file errors: the scan goes on, exit 3 when nothing failed
: > "$tmp/empty.so"
printf 'hello world, not a binary\n' > "$tmp/notes.txt"
ln -s /nonexistent/libgone.so "$tmp/dangling.so"
mkfifo "$tmp/pipe.so"
expect 3 "empty (0 bytes)" -- --arch 9.0 "$tmp/empty.so"
expect 3 "neither an ELF file nor a CUDA fatbin" -- --arch 9.0 "$tmp/notes.txt"
expect 3 "No such file" -- --arch 9.0 "$tmp/dangling.so"
expect 3 "a FIFO" -- --arch 9.0 "$tmp/pipe.so"
expect 3 "No such file" -- --arch 9.0 /nonexistent/libx.so
expect 0 "no shared libraries" -- --arch 9.0 "$src/docs"

lib=/usr/local/cuda/lib64/libcublas.so.13
if [ -f "$lib" ]; then
    expect 0 "native for 9.0" -- --arch 9.0 "$lib"
    expect 1 "missing for 11.0" -- --arch 11.0 "$lib"
    expect 1 "aarch64" -- --arch 11.0 -v "$lib"
    expect 0 "native for 12.1" -- --arch 12.1 "$lib"
    # an unreadable file next to a failing library: fail wins (exit 1)
    expect 1 "empty (0 bytes)" -- --arch 11.0 "$lib" "$tmp/empty.so"
    expect 0 "ELF file    1: sm_" -- --arch 9.0 --list "$lib"
    expect 0 "PTX file    1: compute_120" -- --arch 9.0 --list "$lib"
    "$pf" --arch 11.0 --json "$tmp/r.json" "$lib" "$tmp/empty.so" >/dev/null 2>&1
    if [ -n "$py" ] && "$py" -c 'import jsonschema' 2>/dev/null; then
        if "$py" "$src/scripts/validate-record.py" "$tmp/r.json"; then echo "ok: JSON record valid"
        else echo "FAIL: JSON record invalid"; fails=$((fails+1)); fi
    else
        echo "note: python3 jsonschema missing, JSON not validated against the schema"
    fi
    if grep -q '"missing_share"' "$tmp/r.json" && grep -q '"archs"' "$tmp/r.json"; then echo "ok: JSON evidence keys"
    else echo "FAIL: JSON evidence keys missing"; fails=$((fails+1)); fi
else
    echo "note: $lib absent, real-library CLI cases not run"
fi
echo "$fails failed"
[ "$fails" -eq 0 ]
