#!/usr/bin/env bash
# Time `preflight cluster` on a simulated cluster of N network namespaces on
# one bridge (docs/PERFORMANCE.md, "Cluster runtime"): the whole run -- join,
# node checks (--only net.: interfaces, NCCL/Gloo selection), all-pairs reach
# + MTU + Gloo mesh, neighbour bandwidth -- wall time and the coordinator's
# peak RSS, for each N.  Root (network namespaces).
#
# usage: scripts/bench-cluster.sh [BUILD_DIR] [N...]     (default: build 4 8 16 32)
# env:   RUNS=3          runs per N (the median is reported)
#        EXTRA="..."     more preflight cluster flags (e.g. --no-pairs)
set -euo pipefail
build=${1:-build}
shift || true
sizes=${*:-4 8 16 32}
runs=${RUNS:-3}
pf=$(cd "$build" && pwd)/preflight
[ -x "$pf" ] || { echo "bench-cluster: $pf not built" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "bench-cluster: needs root (network namespaces)" >&2; exit 2; }
tag=$$
sw=pfbsw$tag
work=$(mktemp -d)
nodes=()
cleanup() {
    for n in "${nodes[@]}"; do ip netns del "$n" 2>/dev/null || true; rm -rf "/etc/netns/$n"; done
    ip netns del "$sw" 2>/dev/null || true
    [ -n "${KEEP:-}" ] && { echo "kept $work"; return; }; rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$sw"
ip -n "$sw" link add br0 type bridge
ip -n "$sw" link set br0 up
host=$(hostname)
maxn=0
for n in $sizes; do [ "$n" -gt "$maxn" ] && maxn=$n; done
for i in $(seq 1 "$maxn"); do
    ns=pfb$i-$tag
    nodes+=("$ns")
    ip netns add "$ns"
    ip link add eth0 netns "$ns" type veth peer name p$i netns "$sw"
    ip -n "$sw" link set p$i master br0
    ip -n "$sw" link set p$i up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add 10.50.$((i / 250)).$((i % 250 + 1))/16 dev eth0
    ip -n "$ns" link set eth0 up
    mkdir -p "/etc/netns/$ns"
    printf '127.0.0.1 localhost\n10.50.%d.%d %s\n' $((i / 250)) $((i % 250 + 1)) "$host" > "/etc/netns/$ns/hosts"
done
printf "%-6s %-10s %-10s %-10s %-14s %s\n" nodes wall_s min_s max_s coord_rss_MiB "exit/checks"
for n in $sizes; do
    hf=$work/hosts-$n
    : > "$hf"
    for i in $(seq 1 "$n"); do echo "pfb$i-$tag name=node$i" >> "$hf"; done
    walls=()
    for r in $(seq 1 "$runs"); do
        out=$work/run-$n-$r.json
        set +e
        /usr/bin/time -f '%e %M' -o "$work/time" ip netns exec pfb1-$tag "$pf" cluster --hostfile "$hf" \
            --launcher exec --exec-template 'ip netns exec {host} {cmd}' --agent-path "$pf" \
            --listen 10.50.0.2 --only net. -q --json "$out" ${EXTRA:-} > /dev/null 2> "$work/err"
        rc=$?
        set -e
        read -r wall rss < <(tail -1 "$work/time")
        walls+=("$wall")
        checks=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); s=d['summary']; print('%d pass %d warn %d fail' % (s['pass'], s['warn'], s['fail']))" "$out" 2>/dev/null || echo "no record")
    done
    sorted=$(printf '%s\n' "${walls[@]}" | sort -n)
    med=$(echo "$sorted" | sed -n "$(( (runs + 1) / 2 ))p")
    printf '%-6s %-10s %-10s %-10s %-12s %s\n' "$n" "$med" "$(echo "$sorted" | head -1)" "$(echo "$sorted" | tail -1)" \
        "$(( rss / 1024 ))" "exit $rc, $checks"
done
