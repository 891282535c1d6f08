#!/bin/sh
# Output files never replace what is not a regular file; inputs never block on
# a FIFO or read /dev/zero without bound (issue 13, defects 1, 2, 6 and the
# small ones: /proc/self/mem, model.safetensors as a FIFO).
#   harden_files.sh PREFLIGHT
# Every command runs under `timeout`: a hang is exit 124, a test failure.
# The character-device case needs root (mknod); without root it is skipped
# and the rest still runs (exit 77 only if nothing at all could run).
set -u
P=$1
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
T="timeout 20"

# ---- outputs: check, kernels, bench all write --json through one function
out_cases() {  # $1 = label, rest = the command without --json
    label=$1; shift
    # a character device (like /dev/null) stays a character device
    if mknod "$d/cdev" c 1 3 2>/dev/null; then
        $T "$@" --json "$d/cdev" >/dev/null 2>&1
        [ $? -eq 124 ] && bad "$label --json CHARDEV hung"
        [ -c "$d/cdev" ] || bad "$label --json CHARDEV replaced the device: $(ls -l "$d/cdev")"
        rm -f "$d/cdev"
    else
        echo "note: not root, the character-device case is not run"
    fi
    # a symlink: the record lands in the file it points to, the link stays
    ln -s target.json "$d/link.json"
    $T "$@" --json "$d/link.json" >/dev/null 2>&1
    [ -L "$d/link.json" ] || bad "$label --json SYMLINK replaced the link"
    grep -q '"schema"' "$d/target.json" 2>/dev/null || bad "$label --json SYMLINK: no record in the target"
    rm -f "$d/link.json" "$d/target.json"
    # a FIFO with nobody reading: an error at once, no hang, FIFO kept
    mkfifo "$d/fifo"
    $T "$@" --json "$d/fifo" >/dev/null 2>"$d/err"
    rc=$?
    [ $rc -eq 124 ] && bad "$label --json FIFO (no reader) hung"
    [ -p "$d/fifo" ] || bad "$label --json FIFO replaced the FIFO"
    grep -q 'FIFO' "$d/err" || bad "$label --json FIFO: no message naming the FIFO: $(cat "$d/err")"
    # a FIFO with a reader: the record goes through it
    (timeout 20 cat "$d/fifo" >"$d/through") &
    sleep 0.2
    $T "$@" --json "$d/fifo" >/dev/null 2>&1
    wait
    grep -q '"schema"' "$d/through" || bad "$label --json FIFO with a reader: no record came through"
    rm -f "$d/fifo" "$d/through"
    # a directory is refused with a message
    mkdir "$d/dir.json"
    $T "$@" --json "$d/dir.json" >/dev/null 2>"$d/err"
    grep -q 'directory' "$d/err" || bad "$label --json DIR: no message: $(cat "$d/err")"
    rmdir "$d/dir.json"
    # no temp files left beside the output
    ls -A "$d" | grep -q tmp && bad "$label left a temp file: $(ls -A "$d")"
    rm -f "$d/err"
}
out_cases check $P check --only env.
out_cases kernels $P kernels --arch 9.0 "$P"
out_cases bench $P bench --url http://127.0.0.1:9 --num-prompts 1 --ready-timeout 0 --connect-timeout 1

# ---- inputs that are FIFOs or endless
mkfifo "$d/in.fifo"
# METADATA of a package in the venv
v="$d/venv"; sp="$v/lib/python3.11/site-packages"
mkdir -p "$sp/torch-2.9.0.dist-info"
printf 'home = /usr/bin\nversion = 3.11.2\n' >"$v/pyvenv.cfg"
mkfifo "$sp/torch-2.9.0.dist-info/METADATA"
$T $P check --venv "$v" --only env. >"$d/out" 2>&1
[ $? -eq 124 ] && bad "check with METADATA as a FIFO hung"
# NCCL_CONF_FILE and ~/.nccl.conf
NCCL_CONF_FILE="$d/in.fifo" $T $P check --only net. >"$d/out" 2>&1
[ $? -eq 124 ] && bad "check with NCCL_CONF_FILE a FIFO hung"
mkdir -p "$d/home"; mkfifo "$d/home/.nccl.conf"
HOME="$d/home" $T $P check --only net. >"$d/out" 2>&1
[ $? -eq 124 ] && bad "check with ~/.nccl.conf a FIFO hung"
# a model directory whose files are FIFOs
mkdir -p "$d/model"; mkfifo "$d/model/model.safetensors"
$T $P check --model "$d/model" --arch 9.0 --only mem. >"$d/out" 2>&1
[ $? -eq 124 ] && bad "check --model with a FIFO model.safetensors hung"
grep -q 'listed in model.safetensors.index.json' "$d/out" && bad "model.safetensors FIFO reported as listed in an index that does not exist: $(head -1 "$d/out")"
grep -q 'FIFO' "$d/out" || bad "model.safetensors FIFO not named as a FIFO: $(head -1 "$d/out")"
rm "$d/model/model.safetensors"; mkfifo "$d/model/config.json" "$d/model/model.safetensors.index.json"
$T $P check --model "$d/model" --arch 9.0 --only mem. >"$d/out" 2>&1
[ $? -eq 124 ] && bad "check --model with FIFO config.json and index hung"
# datasets: a FIFO and /dev/zero are refused at once (bounded time and memory)
for ds in jsonl sharegpt; do
    for src in "$d/in.fifo" /dev/zero; do
        $T $P bench --url http://127.0.0.1:9 --dataset $ds --dataset-path "$src" --num-prompts 1 >"$d/out" 2>&1
        rc=$?
        [ $rc -eq 124 ] && bad "bench --dataset $ds --dataset-path $src hung"
        grep -q 'regular file' "$d/out" || bad "bench --dataset $ds --dataset-path $src: no clear message: $(head -3 "$d/out")"
    done
done
# kernels on /proc/self/mem is not "empty"
$T $P kernels --arch 9.0 /proc/self/mem >"$d/out" 2>&1
grep -q 'is empty' "$d/out" && bad "/proc/self/mem reported as empty: $(cat "$d/out")"

[ $fails -eq 0 ] && echo "all file cases held"
[ $fails -eq 0 ]
