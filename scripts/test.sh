#!/usr/bin/env bash
# Fresh machine -> everything installed -> built with -Werror -> every test run,
# then the same tests again under AddressSanitizer + UBSan.
#   scripts/test.sh            both passes
#   PF_NO_ASAN=1 scripts/test.sh   the plain pass only
# This is exactly what CI runs (.ci/run).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)
bash "$root/scripts/install-deps.sh" --tests

echo "== build and test (RelWithDebInfo, -Werror)"
cmake -S "$root" -B "$root/build-test" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPF_WERROR=ON -DPF_TESTS=ON >/dev/null
cmake --build "$root/build-test" -j"$jobs"
(cd "$root/build-test" && ctest --output-on-failure --timeout 600 -j"$jobs")

if [ -z "${PF_NO_ASAN:-}" ]; then
    echo "== build and test again under AddressSanitizer + UBSan"
    cmake -S "$root" -B "$root/build-asan" -DCMAKE_BUILD_TYPE=Debug -DPF_WERROR=ON -DPF_TESTS=ON -DPF_SANITIZE=ON >/dev/null
    cmake --build "$root/build-asan" -j"$jobs"
    (cd "$root/build-asan" && ctest --output-on-failure --timeout 600 -j"$jobs")
fi
