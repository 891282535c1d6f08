#!/usr/bin/env bash
# Build the libFuzzer targets (fuzz/fuzz_*.c, clang with ASan+UBSan) and run
# each for SECONDS (default 10) on its seed corpus (fuzz/corpus/<name>/, real
# files), then the new inputs it found are kept in build-fuzz/corpus/<name>/.
#   scripts/fuzz.sh [SECONDS] [NAME...]       e.g. scripts/fuzz.sh 5 sse prom
#   PF_FUZZ_RUNS=1000000 scripts/fuzz.sh 0 sse   a campaign of N executions
# Exit 1 when a target crashed: the input is in build-fuzz/artifacts/ and
# becomes a regression case (fuzz/corpus/<name>/ and a unit test).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-10}
[ $# -gt 0 ] && shift
b="$root/build-fuzz"
command -v clang >/dev/null || { echo "fuzz: clang is not installed (scripts/install-deps-fuzz.sh)"; exit 1; }
if [ ! -f "$b/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$b" -DCMAKE_C_COMPILER=clang -DPF_FUZZ=ON -DPF_TESTS=OFF \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$b" -j"${PF_JOBS:-2}" >/dev/null
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    for f in "$root"/fuzz/fuzz_*.c; do n=$(basename "$f" .c); names+=("${n#fuzz_}"); done
fi
mkdir -p "$b/artifacts"
fail=0
for n in "${names[@]}"; do
    exe="$b/fuzz/fuzz_$n"
    [ -x "$exe" ] || { echo "fuzz: no target fuzz_$n"; fail=1; continue; }
    mkdir -p "$b/corpus/$n"
    seeds="$root/fuzz/corpus/$n"
    [ -d "$seeds" ] || seeds=""
    if [ -n "${PF_FUZZ_RUNS:-}" ]; then lim=(-runs="$PF_FUZZ_RUNS"); else lim=(-max_total_time="$secs"); fi
    t0=$(date +%s.%N)
    if "$exe" "${lim[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
        -artifact_prefix="$b/artifacts/$n-" "$b/corpus/$n" ${seeds:+"$seeds"} >"$b/fuzz_$n.log" 2>&1; then
        runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$b/fuzz_$n.log" | grep -o '[0-9]*$' || echo '?')
        printf 'fuzz %-12s ok   %10s executions in %.1f s\n' "$n" "$runs" "$(echo "$(date +%s.%N) - $t0" | bc)"
    else
        echo "fuzz $n: CRASH (input in $b/artifacts/$n-*); log:"
        grep -A20 -m1 'ERROR\|==ERROR\|runtime error\|deadly signal' "$b/fuzz_$n.log" | head -30
        fail=1
    fi
done
rm -rf /dev/shm/pf-fuzz-* 2>/dev/null || true
exit $fail
