#!/usr/bin/env bash
# journey_test.sh -- CTest "journey": scripts/demo-cluster.sh end to end
# (real llama.cpp rpc-server on three network-namespace nodes, llama-server
# --rpc on a fourth, preflight bench --launch-node over them), then each
# fault of issue #12 and the bad inputs, each checked for the step that must
# name it and the words that name it.
#   journey_test.sh PREFLIGHT WORKDIR
# Exit 0 pass, 1 fail, 77 skip with the reason (not root, no namespaces,
# llama.cpp not installed: scripts/install-deps-llama.sh).
set -uo pipefail
PF="$1"
WORK="$2"
HERE="$(cd "$(dirname "$0")" && pwd)"
DEMO="$HERE/../../scripts/demo-cluster.sh"
rm -rf "$WORK" && mkdir -p "$WORK"
fail=0
check() { # NAME EXPECTED_RC PATTERN -- ARGS...
    local name="$1" want="$2" pat="$3"
    shift 4
    local t0=$SECONDS
    PF_PREFLIGHT="$PF" bash "$DEMO" --out "$WORK/$name" "$@" >"$WORK/$name.out" 2>&1
    local rc=$?
    if [ "$rc" = 77 ]; then
        cat "$WORK/$name.out"
        echo "SKIPPED: $(grep SKIPPED "$WORK/$name.out" | tail -1)"
        exit 77
    fi
    if [ "$rc" = "$want" ] && tr '\n' ' ' <"$WORK/$name.out" | grep -q -E -- "$pat"; then
        echo "ok   $name (exit $rc, $((SECONDS - t0)) s)"
    else
        echo "FAIL $name: exit $rc (want $want), pattern '$pat'; output:"
        sed 's/^/    /' "$WORK/$name.out"
        fail=1
    fi
}
check journey 0 "step cluster: ok .*step plan: ok .*step plan-applied: ok .*layers 0-[0-9]+; 10.77.0.2:50052: layers .*step bench: ok .*step report: ok .*demo-cluster: passed" -- --concurrency 1,2 --num-prompts 4
check rpc-node-killed 0 "fails naming rpc2.*killed by signal 9" -- --fault rpc-node-killed --concurrency 1,2 --num-prompts 4 --no-cluster
check rpc-port-blocked 0 "cluster.ports before any launch: n[0-9] -> n2: .*50052 \(port 50052\) filtered" -- --fault rpc-port-blocked
check plan-not-applied 0 "step plan-applied: ok \(fault caught\).*n2" -- --fault plan-not-applied
check no-rpc-server 0 "has no rpc-server at .*install-deps-llama.sh" -- --fault no-rpc-server --no-cluster
printf 'not a model\n' >"$WORK/model.bin"
check not-gguf 2 "is not GGUF.*convert_hf_to_gguf" -- --model "$WORK/model.bin"
# a stale build: a stamp from other build options
stale="$WORK/stale-prefix"
mkdir -p "$stale"
sed 's/-DGGML_RPC=ON/-DGGML_RPC=OFF/' "${PF_LLAMA_PREFIX:-/opt/preflight-llama}/installed.env" >"$stale/installed.env" 2>/dev/null ||
    echo 'PF_LLAMA_BUILD_ID="old"' >"$stale/installed.env"
PF_LLAMA_PREFIX="$stale" PF_PREFLIGHT="$PF" bash "$DEMO" --out "$WORK/stale" >"$WORK/stale.out" 2>&1
rc=$?
if [ "$rc" = 77 ] && grep -q "is stale.*install-deps-llama.sh" "$WORK/stale.out"; then
    echo "ok   stale-build (named, with the install command)"
else
    echo "FAIL stale-build: exit $rc"; sed 's/^/    /' "$WORK/stale.out"; fail=1
fi
exit $fail
