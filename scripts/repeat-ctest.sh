#!/usr/bin/env bash
# Run the suite N times in a row and say how each run went: the proof that a
# once-flaky test is fixed (issue #13: 20 consecutive `ctest -j2` runs of a
# Release build on a 2-core machine).
#
#   scripts/repeat-ctest.sh N BUILD_DIR [ctest arguments...]
#
# BUILD_DIR is a configured and built tree (-DPF_TESTS=ON).  Each run's full
# output is kept as BUILD_DIR/repeat/run-K.log; one line per run goes to
# stdout: run number, result, failed tests, wall seconds.  Exit 1 if any run
# failed.  Every run is made, even after a failure, so the count is honest.
set -u
n=${1:?number of runs}; b=$(cd "${2:?build dir}" && pwd); shift 2
mkdir -p "$b/repeat"
bad=0
for ((k = 1; k <= n; k++)); do
    s=$(date +%s)
    (cd "$b" && ctest --timeout 600 "$@") > "$b/repeat/run-$k.log" 2>&1
    rc=$?
    failed=$(sed -n 's/^ *[0-9]* - \([^ ]*\) .*/\1/p' "$b/repeat/run-$k.log" | tr '\n' ' ')
    summary=$(grep -E 'tests passed' "$b/repeat/run-$k.log")
    printf 'run %2d/%d  %s  rc=%d  %4ds  %s%s\n' "$k" "$n" "$(date -u +%H:%M:%S)" "$rc" $(( $(date +%s) - s )) \
        "$summary" "${failed:+  FAILED: $failed}"
    # a failed run's test output (ctest keeps only the last run's): kept
    [ $rc = 0 ] || cp "$b/Testing/Temporary/LastTest.log" "$b/repeat/run-$k.LastTest.log" 2>/dev/null
    [ $rc = 0 ] || bad=1
done
exit $bad
