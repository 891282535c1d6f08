#!/usr/bin/env bash
# Fresh machine -> everything installed -> every check CI makes, each stage
# timed (the whole run must stay well under 30 min on 2 cores):
#   1. build with -Werror (RelWithDebInfo) and run every test
#   2. the Release (-O2) build with -Werror (catches -Wmaybe-uninitialized
#      that only the optimiser sees) and the hardening tests on it
#   3. every test again under AddressSanitizer + UBSan
#   4. the tests labelled tsan (the threaded bench client; the cluster
#      runtime joins by label) under ThreadSanitizer
#   5. static analysis (gcc -fanalyzer, scripts/analyze.sh)
#   6. every fuzz target for a few seconds (scripts/fuzz.sh)
# Skip stages with PF_NO_ASAN=1, PF_NO_TSAN=1, PF_NO_RELEASE=1,
# PF_NO_ANALYZE=1, PF_NO_FUZZ=1; PF_FUZZ_SECONDS (default 3) per target.
# This is exactly what CI runs (.ci/run).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)
times=()
stage_start() { echo "== $1"; stage_name=$1; stage_t0=$(date +%s); }
stage_end() {
    local dt=$(( $(date +%s) - stage_t0 ))
    times+=("$(printf '%5d s  %s' "$dt" "$stage_name")")
    echo "== $stage_name: ${dt} s"
}
report() {
    echo "== stage times"
    printf '%s\n' "${times[@]}"
}
trap report EXIT

stage_start "install dependencies"
bash "$root/scripts/install-deps.sh" --tests
stage_end

stage_start "build and test (RelWithDebInfo, -Werror)"
cmake -S "$root" -B "$root/build-test" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPF_WERROR=ON -DPF_TESTS=ON >/dev/null
cmake --build "$root/build-test" -j"$jobs"
(cd "$root/build-test" && ctest --output-on-failure --timeout 600 -j"$jobs")
stage_end

if [ -z "${PF_NO_RELEASE:-}" ]; then
    stage_start "Release (-O2) build with -Werror, hardening tests"
    cmake -S "$root" -B "$root/build-release" -DCMAKE_BUILD_TYPE=Release -DPF_WERROR=ON -DPF_TESTS=ON >/dev/null
    cmake --build "$root/build-release" -j"$jobs"
    (cd "$root/build-release" && ctest --output-on-failure --timeout 600 -j"$jobs" -L harden)
    stage_end
fi

if [ -z "${PF_NO_ASAN:-}" ]; then
    stage_start "build and test again under AddressSanitizer + UBSan"
    cmake -S "$root" -B "$root/build-asan" -DCMAKE_BUILD_TYPE=Debug -DPF_WERROR=ON -DPF_TESTS=ON -DPF_SANITIZE=ON >/dev/null
    cmake --build "$root/build-asan" -j"$jobs"
    (cd "$root/build-asan" && ctest --output-on-failure --timeout 600 -j"$jobs")
    stage_end
fi

if [ -z "${PF_NO_TSAN:-}" ]; then
    stage_start "ThreadSanitizer: tests labelled tsan"
    cmake -S "$root" -B "$root/build-tsan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPF_WERROR=ON -DPF_TESTS=ON -DPF_TSAN=ON >/dev/null
    # only what the labelled tests run
    tsan_targets=$(cd "$root/build-tsan" && ctest -N -L tsan | sed -n 's/^ *Test *#[0-9]*: //p')
    cmake --build "$root/build-tsan" -j"$jobs" --target pf_bench sse_server \
        $(for t in $tsan_targets; do case $t in test_*) echo "$t" ;; esac; done)
    (cd "$root/build-tsan" && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
        ctest --output-on-failure --timeout 600 -j"$jobs" -L tsan)
    stage_end
fi

if [ -z "${PF_NO_ANALYZE:-}" ]; then
    stage_start "static analysis (gcc -fanalyzer)"
    PF_JOBS=$jobs bash "$root/scripts/analyze.sh"
    stage_end
fi

if [ -z "${PF_NO_FUZZ:-}" ]; then
    stage_start "fuzz targets, ${PF_FUZZ_SECONDS:-3} s each"
    PF_JOBS=$jobs bash "$root/scripts/fuzz.sh" "${PF_FUZZ_SECONDS:-3}"
    stage_end
fi
