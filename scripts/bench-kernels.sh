#!/bin/sh
# Benchmark the fatbin scan: `preflight kernels` over a CUDA library
# directory (default /usr/local/cuda/lib64, ~2.4 GB, 58 files on CUDA 13.0),
# warm page cache, against the cost of merely reading every byte once.
#
# usage: scripts/bench-kernels.sh [DIR]        (env PREFLIGHT as in compare-cuobjdump.sh,
#                                               env RUNS, default 10; COLD=1 also drops the
#                                               page cache before one cold run: needs root)
# Uses hyperfine (apt-get install hyperfine) when present, else a `time` loop.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-/usr/local/cuda/lib64}
runs=${RUNS:-10}
if [ -z "${PREFLIGHT:-}" ]; then
    if [ -x "$here/build/preflight" ] && "$here/build/preflight" kernels --help >/dev/null 2>&1; then
        PREFLIGHT="$here/build/preflight kernels"
    else
        PREFLIGHT="$here/build/tests/pf-kernels"
    fi
fi
scan="$PREFLIGHT -q --arch 9.0 $dir"
# Reading every file once (what the scan must stay under): cat through the
# symlink-free list of regular files.
files=$(find -H "$dir" -type f \( -name '*.so' -o -name '*.so.*' -o -name '*.cubin' -o -name '*.fatbin' \) | tr '\n' ' ')
read_all="cat $files"
bytes=$(cat $files | wc -c)
echo "directory: $dir ($(echo $files | wc -w) files, $((bytes / 1048576)) MiB); $(nproc) CPUs; $(uname -m)"
echo "scan command: $scan"
if [ "${COLD:-0}" = 1 ]; then
    sync; echo 3 > /proc/sys/vm/drop_caches
    /usr/bin/time -f "cold scan: %e s wall, %U s user, %S s sys, %M KiB max RSS" $scan >/dev/null || true
fi
if command -v hyperfine >/dev/null 2>&1; then
    hyperfine --warmup 2 --runs "$runs" --export-markdown /dev/stdout \
        -n "preflight kernels (scan)" "$scan >/dev/null" \
        -n "cat every file once (read only)" "$read_all >/dev/null"
else
    for name in scan read_all; do
        eval cmd=\$$name
        sh -c "$cmd >/dev/null"; sh -c "$cmd >/dev/null"   # warm up
        start=$(date +%s.%N)
        i=0; while [ $i -lt "$runs" ]; do sh -c "$cmd >/dev/null"; i=$((i+1)); done
        end=$(date +%s.%N)
        echo "$name: $(echo "($end - $start) / $runs" | bc -l | cut -c1-6) s mean over $runs runs"
    done
fi
/usr/bin/time -f "one warm scan: %e s wall, %U s user, %S s sys, %M KiB max RSS" $scan >/dev/null || true
