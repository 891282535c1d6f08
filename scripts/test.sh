#!/usr/bin/env bash
# Fresh machine -> everything installed -> built with -Werror -> every test run.
#   scripts/test.sh
# This is exactly what CI runs (.ci/run).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/install-deps.sh" --tests
cmake -S "$root" -B "$root/build-test" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPF_WERROR=ON -DPF_TESTS=ON >/dev/null
cmake --build "$root/build-test" -j"$(nproc)"
cd "$root/build-test"
ctest --output-on-failure --timeout 600 -j"$(nproc)"
