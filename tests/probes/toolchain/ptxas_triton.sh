#!/bin/sh
# Cross-check toolchain.ptxas against the real Triton 3.6.0 (PyPI wheel, its
# bundled ptxas 12.8.93 and ptxas-blackwell 12.9.86): compile a kernel for
# sm_90a/sm_110a/sm_121a under four environments and compare with preflight's
# verdict.  Skips (77) without the venv (scripts/install-deps-ptxas.sh makes
# it) or until the probe is registered.
pf="$1"; script="$2"
venv=${PF_PTXAS_TRITON_VENV:-/opt/preflight-test/triton-3.6}
[ -x "$venv/bin/python" ] || { echo "no Triton venv at $venv (run scripts/install-deps-ptxas.sh)"; exit 77; }
"$venv/bin/python" -c 'import triton' 2>/dev/null || { echo "$venv has no triton"; exit 77; }
"$pf" check --list 2>/dev/null | grep -q toolchain.ptxas || { echo "toolchain.ptxas not registered"; exit 77; }
exec "$venv/bin/python" "$script" --preflight "$pf" --venv "$venv" 90 110 121
