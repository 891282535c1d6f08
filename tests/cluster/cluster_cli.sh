#!/bin/sh
# `preflight cluster` and `preflight agent` on bad input: a clear message,
# the right exit code (docs/EXIT-CODES.md), results already gathered kept.
# No root needed.  usage: cluster_cli.sh PATH/TO/preflight
set -u
pf=$1
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
fails=0
# expect CODE SUBSTRING -- command...: exit code and a substring of stderr
expect() {
    want=$1 text=$2
    shift 3
    "$@" > "$d/out" 2> "$d/err"
    rc=$?
    if [ "$rc" -ne "$want" ] || ! grep -qF -- "$text" "$d/err" "$d/out"; then
        echo "FAIL: $* -> exit $rc (want $want), want '$text' in:"
        sed 's/^/    /' "$d/err" | head -5
        fails=$((fails + 1))
    else
        echo "ok   exit $rc, '$text': $*"
    fi
}
printf '' > "$d/empty"
printf 'a\nb colour=blue\n' > "$d/badkey"
printf 'a\nb\na\n' > "$d/dup"
printf 'a stage=0\nb stage=0\n' > "$d/stage"

expect 0 "usage: preflight cluster" -- "$pf" cluster --help
expect 0 "usage: preflight agent" -- "$pf" agent --help
expect 2 "which nodes?" -- "$pf" cluster
expect 2 "no node in the hostfile" -- "$pf" cluster --hostfile "$d/empty"
expect 2 "line 2: unknown key 'colour'" -- "$pf" cluster --hostfile "$d/badkey"
expect 2 "listed twice" -- "$pf" cluster --hostfile "$d/dup"
expect 2 "stage=0 is given to two nodes" -- "$pf" cluster --hostfile "$d/stage"
expect 2 "cannot open" -- "$pf" cluster --hostfile "$d/missing"
expect 2 "is not a host name" -- "$pf" cluster --hosts 'a,b;reboot'
expect 2 "not one of ssh, exec" -- "$pf" cluster --hosts a --launcher rsh
expect 2 "needs --exec-template" -- "$pf" cluster --hosts a --launcher exec
expect 2 "has no {cmd}" -- "$pf" cluster --hosts a --launcher exec --exec-template 'ip netns exec {host}' --listen 127.0.0.1
expect 2 "BatchMode stays yes" -- "$pf" cluster --hosts a -o BatchMode=no
expect 2 "give one of --hosts, --hostfile, --ray" -- "$pf" cluster --hosts a --hostfile "$d/dup"
expect 2 "not an IPv4 address" -- "$pf" cluster --hosts a --listen nosuch.example
expect 2 "takes its nodes from Ray" -- "$pf" cluster --hosts a,b --launcher ray
expect 2 "no Ray cluster" -- "$pf" cluster --ray 127.0.0.1:1
expect 2 "--join HOST:PORT is required" -- "$pf" agent
expect 2 "unknown option" -- "$pf" agent --join 127.0.0.1:1 --exec x

# A port already taken: exit 2, nothing launched.
python3 -c 'import socket,time; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); open("'"$d"'/port","w").write(str(s.getsockname()[1])); time.sleep(20)' &
holder=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -s "$d/port" ] && break; sleep 0.1; done
expect 2 "is already taken" -- "$pf" cluster --hosts a --launcher exec --exec-template 'env {cmd}' --listen "127.0.0.1:$(cat "$d/port")"
kill "$holder" 2>/dev/null

# A node without preflight and an unknown host: named in cluster.nodes, exit
# 1, the node that works is kept.
printf 'good\nnopf bin=/nonexistent/preflight\n' > "$d/hosts"
expect 1 "nonexistent/preflight" -- "$pf" cluster --hostfile "$d/hosts" --launcher exec \
    --exec-template 'env {cmd}' --agent-path "$pf" --listen 127.0.0.1 --only net.interfaces --no-pairs \
    --json "$d/rec.json"
# The console: the node x check table (a row for the node that joined, a
# dash row and the reason for the one that did not), then the problems.
if grep -q '^node  *net.interfaces' "$d/out" && grep -q '^good  *pass' "$d/out" && grep -q '^nopf  *-' "$d/out" &&
    grep -q '^  nopf: did not join' "$d/out" && grep -q 'FAIL  *cluster.nodes' "$d/out"; then
    echo "ok   the console shows the node x check table with the missing node and its reason"
else
    echo "FAIL: the console table:"; sed 's/^/    /' "$d/out" | head -12; fails=$((fails + 1))
fi
if ! python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert [n["name"] for n in d["nodes"]] == ["good"], d["nodes"]; assert "nopf" in d["cluster"]["join_errors"]' "$d/rec.json"; then
    echo "FAIL: the record keeps good and names nopf"; fails=$((fails + 1))
else
    echo "ok   the record keeps good and names nopf"
fi
# A launcher whose output carries terminal escapes (a window-title OSC, a
# screen clear) and a forged line: the coordinator names the node with the
# launcher's words, escaped -- no raw ESC or BEL reaches the terminal.
printf 'evil\n' > "$d/hosts-evil"
"$pf" cluster --hostfile "$d/hosts-evil" --launcher exec --listen 127.0.0.1 --only net.interfaces --no-pairs \
    --join-timeout 5 --exec-template "sh -c 'printf \"\\033]0;owned\\007\\033[2J\\npreflight cluster: all passed\\n\" >&2; exit 3' {cmd}" \
    > "$d/out" 2>&1
if grep -q "$(printf '\033')" "$d/out" || grep -q "$(printf '\007')" "$d/out"; then
    echo "FAIL: raw ESC/BEL from a launcher's output reached the terminal:"; od -c "$d/out" | grep -m3 '033\|007'; fails=$((fails + 1))
elif grep -q 'x1B]0;owned' "$d/out"; then
    echo "ok   a launcher's escape sequences are shown escaped (\\x1B), never raw"
else
    echo "FAIL: the launcher's words are missing:"; sed 's/^/    /' "$d/out" | head -5; fails=$((fails + 1))
fi
if command -v ssh > /dev/null; then
    expect 1 "Could not resolve hostname" -- "$pf" cluster --hosts nosuchhost.invalid --listen 127.0.0.1 \
        --join-timeout 10 --no-pairs --only net.interfaces
fi
[ "$fails" -eq 0 ] && echo "all passed" || { echo "$fails failure(s)"; exit 1; }
