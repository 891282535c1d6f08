#!/bin/sh
# toolchain.ptxas through `preflight check`, as a user runs it, on the fake
# Triton 3.6 venv (bundled ptxas 12.8 and ptxas-blackwell 12.9 stand-ins)
# and the real CUDA 13.0 ptxas.  Skips (77) until the probe is registered,
# or without /usr/local/cuda/bin/ptxas.
pf="$1"; mkfx="$2"
"$pf" check --list 2>/dev/null | grep -q toolchain.ptxas || { echo "toolchain.ptxas not registered"; exit 77; }
[ -x /usr/local/cuda/bin/ptxas ] || { echo "no /usr/local/cuda/bin/ptxas"; exit 77; }
set -- $("$mkfx") || exit 1
root=$1; venv=$2
trap 'rm -rf "$root"' EXIT
unset TRITON_PTXAS_PATH TRITON_PTXAS_BLACKWELL_PATH CUDA_HOME CUDA_PATH VIRTUAL_ENV
# The remedy names the first ptxas on $PATH that assembles the target, so the
# expected text depends on PATH: pin it (CI's PATH has /usr/local/bin, with a
# wrapper script, ahead of /usr/local/cuda/bin; a developer's may not).
PATH=/usr/local/cuda/bin:$PATH; export PATH
fails=0
run() { # run WANT_EXIT WANT_STATUS WANT_TEXT ARCH [ENV=VALUE]
    want=$1 st=$2 text=$3 arch=$4
    shift 4
    out=$(env "$@" "$pf" check --only toolchain.ptxas --arch "$arch" --venv "$venv" --json "$root/r.json" 2>&1)
    got=$?
    if [ "$got" -ne "$want" ]; then echo "FAIL: --arch $arch $*: exit $got, wanted $want"; echo "$out"; fails=$((fails+1)); return; fi
    python3 - "$root/r.json" "$st" "$text" <<'PY' || fails=$((fails+1))
import json, sys
rec = json.load(open(sys.argv[1]))
c = [c for c in rec["checks"] if c["id"] == "toolchain.ptxas"]
assert len(c) == 1, c
c = c[0]
text = (c["summary"] or "") + " | " + (c.get("remedy") or "")
if c["status"] != sys.argv[2] or sys.argv[3] not in text:
    print("FAIL: status %s (wanted %s), text: %s" % (c["status"], sys.argv[2], text)); sys.exit(1)
print("ok: %s: %s" % (c["status"], text[:160]))
PY
}
run 1 fail "export TRITON_PTXAS_BLACKWELL_PATH=/usr/local/cuda/bin/ptxas " 11.0
run 0 pass "(CUDA 12.8) for sm_90a" 9.0
run 0 pass "(CUDA 12.9) for sm_121a" 12.1
run 0 pass "TRITON_PTXAS_BLACKWELL_PATH=/usr/local/cuda/bin/ptxas" 11.0 TRITON_PTXAS_BLACKWELL_PATH=/usr/local/cuda/bin/ptxas
run 1 fail "TRITON_PTXAS_PATH is set but has no effect" 11.0 TRITON_PTXAS_PATH=/usr/local/cuda/bin/ptxas
run 0 warn "silently falls back" 12.1 TRITON_PTXAS_BLACKWELL_PATH=/nonexistent/ptxas
# A wrapper script first on PATH (as /usr/local/bin/ptxas is on some hosts):
# it is what the user will export, so the remedy must name it, not the target.
mkdir -p "$root/wrap" && printf '#!/bin/sh\nexec /usr/local/cuda/bin/ptxas "$@"\n' >"$root/wrap/ptxas" && chmod +x "$root/wrap/ptxas"
run 1 fail "export TRITON_PTXAS_BLACKWELL_PATH=$root/wrap/ptxas " 11.0 PATH="$root/wrap:$PATH"
echo "$fails failed"
[ "$fails" -eq 0 ]
