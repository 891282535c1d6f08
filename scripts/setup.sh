#!/usr/bin/env bash
# Fresh machine -> preflight built -> `preflight check` run on this node.
#   scripts/setup.sh [preflight check options...]
# Writes the run record to preflight-check.json and prints the summary.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/install-deps.sh"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release -DPF_TESTS=OFF >/dev/null
cmake --build "$root/build" -j"$(nproc)" >/dev/null
echo "built $root/build/preflight"
set +e
"$root/build/preflight" check --json "$root/preflight-check.json" "$@"
rc=$?
set -e
echo "run record: $root/preflight-check.json (exit $rc; see docs/EXIT-CODES.md)"
exit $rc
