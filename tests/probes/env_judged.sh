#!/bin/sh
# env_judged.sh -- a check judges the environment it is given (--env-file),
# not the process's: the process says one thing, the file the opposite, and
# the verdict follows the file, both ways round.  Real binary, real checks
# (net.gloo on the loopback interface every machine has; env.fingerprint's
# recorded variables).
#   env_judged.sh PREFLIGHT
pf="$1"
work=$(mktemp -d /tmp/pf_envj_XXXXXX)
trap 'rm -rf "$work"' EXIT
fails=0
bad() { echo "FAIL: $*"; fails=$((fails+1)); }

printf '# the server runs with this\nexport GLOO_SOCKET_IFNAME=lo\nNCCL_DEBUG=WARN\n' > "$work/lo.env"
printf 'GLOO_SOCKET_IFNAME=nosuch0\n' > "$work/nosuch.env"

# 1. process: an interface that does not exist (fail); file: lo (warn)
out=$(env GLOO_SOCKET_IFNAME=nosuch0 NCCL_DEBUG=INFO NCCL_ALGO=Ring \
      "$pf" check --only net.gloo,env.fingerprint --env-file "$work/lo.env" --json "$work/a.json" 2>&1)
rc=$?
printf '%s\n' "$out" | grep -q "WARN .*net.gloo .*Gloo uses lo" || bad "net.gloo did not judge the file's lo: $out"
[ $rc -eq 0 ] || bad "exit $rc, wanted 0 (a warning only)"
grep -q '"NCCL_DEBUG": "WARN"' "$work/a.json" || bad "fingerprint did not record the file's NCCL_DEBUG"
# the file is laid over the process environment (as `set -a; . FILE` would):
# a variable only the process has is still there
grep -q '"NCCL_ALGO": "Ring"' "$work/a.json" || bad "the process's NCCL_ALGO is missing under the file"
grep -q "\"env_source\": \"process+file:$work/lo.env\"" "$work/a.json" || bad "env_source does not name the file"
# ...and under `env -i` the file alone is judged
env -i "$pf" check --only env.fingerprint --env-file "$work/lo.env" --json "$work/b.json" >/dev/null 2>&1
grep -q '"NCCL_DEBUG": "WARN"' "$work/b.json" && ! grep -q '"NCCL_ALGO"' "$work/b.json" ||
    bad "under env -i the record should hold only the file's variables"

# 2. the other way round: process lo (warn), file nosuch0 (fail)
out=$(env GLOO_SOCKET_IFNAME=lo "$pf" check --only net.gloo --env-file "$work/nosuch.env" 2>&1)
rc=$?
printf '%s\n' "$out" | grep -q "FAIL .*net.gloo .*nosuch0" || bad "net.gloo did not judge the file's nosuch0: $out"
[ $rc -eq 1 ] || bad "exit $rc, wanted 1"

# 3. without --env-file the process is judged (the same process values)
out=$(env GLOO_SOCKET_IFNAME=nosuch0 "$pf" check --only net.gloo --json "$work/c.json" 2>&1)
[ $? -eq 1 ] || bad "the process's nosuch0 should fail: $out"
grep -q '"env_source": "process"' "$work/c.json" || bad "env_source is not process"

# 4. a bad env file is a usage error naming FILE:LINE, for check and kernels
printf 'A=1\nNCCL_SOCKET_IFNAME = eth0\n' > "$work/bad.env"
out=$("$pf" check --env-file "$work/bad.env" 2>&1)
rc=$?
[ $rc -eq 2 ] || bad "bad env file: exit $rc, wanted 2"
printf '%s' "$out" | grep -q "$work/bad.env:2: blanks around '='" || bad "bad env file message: $out"
out=$("$pf" kernels --arch 12.1 --env-file "$work/bad.env" /dev/null 2>&1)
[ $? -eq 2 ] || bad "kernels with a bad env file should exit 2: $out"
out=$("$pf" check --env-file "$work/missing.env" 2>&1)
[ $? -eq 2 ] && printf '%s' "$out" | grep -q "missing.env" || bad "missing env file: $out"

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "the verdicts follow the judged environment"
