#!/bin/sh
# Compare preflight's fatbin inventory with cuobjdump's, library by library.
#
# usage: scripts/compare-cuobjdump.sh FILE_OR_DIR...
#   env PREFLIGHT  command that runs `preflight kernels` (default: build/preflight kernels
#                  if that binary has the subcommand, else build/tests/pf-kernels)
#   env CUOBJDUMP  cuobjdump to compare with (default: on PATH, else /usr/local/cuda/bin/cuobjdump)
#
# For every shared library, cubin or fatbin it prints MATCH or DIFF after
# comparing the multiset of SASS ("ELF") and PTX entries:
#   cuobjdump -all -lelf / -all -lptx   (all of .nv_fatbin and __nv_relfatbin)
#   preflight kernels --list            (entries of containers in those same sections;
#                                        containers found in other sections, e.g. cuFFT's
#                                        .ldata, are counted separately since cuobjdump
#                                        does not list them)
# Normalisation: cuobjdump 13.x prints family ('f') cubins without the suffix
# (sm_120f -> "sm_120"), so ours are compared without it too; cuobjdump names
# PTX "sm_XY" where we say "compute_XY".  Exit 0 when every file matches.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${PREFLIGHT:-}" ]; then
    if [ -x "$here/build/preflight" ] && "$here/build/preflight" kernels --help >/dev/null 2>&1; then
        PREFLIGHT="$here/build/preflight kernels"
    else
        PREFLIGHT="$here/build/tests/pf-kernels"
    fi
fi
if ! $PREFLIGHT --help >/dev/null 2>&1; then
    echo "compare-cuobjdump: cannot run '$PREFLIGHT' (build preflight, or set PREFLIGHT='path/to/preflight kernels')" >&2
    exit 2
fi
if [ -z "${CUOBJDUMP:-}" ]; then
    CUOBJDUMP=$(command -v cuobjdump || echo /usr/local/cuda/bin/cuobjdump)
fi
if [ ! -x "$CUOBJDUMP" ]; then
    echo "compare-cuobjdump: no cuobjdump at $CUOBJDUMP (set CUOBJDUMP=...)" >&2
    exit 2
fi
[ $# -gt 0 ] || { echo "usage: $0 FILE_OR_DIR..." >&2; exit 2; }

tmp=$(mktemp -d /tmp/pf_cmp_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
files=$tmp/files
for p in "$@"; do
    if [ -d "$p" ]; then
        find -H "$p" -type f \( -name '*.so' -o -name '*.so.*' -o -name '*.cubin' -o -name '*.fatbin' \) | sort
    else
        echo "$p"
    fi
done > "$files"

match=0; diff=0; empty=0
while IFS= read -r f; do
    # ours: entries in the sections cuobjdump reads
    $PREFLIGHT --list "$f" 2>/dev/null | grep -E '^(ELF|PTX) file' > "$tmp/ours.all"
    grep -E 'in (\.nv_fatbin|__nv_relfatbin|\(cubin\)|\(fatbin file\)),' "$tmp/ours.all" |
        sed -E 's/^(ELF|PTX) file +[0-9]+: ([a-z]+_[0-9]+[af]?).*/\1 \2/' |
        sed -E 's/^ELF (sm_[0-9]+)f$/ELF \1/' | sort | uniq -c > "$tmp/ours"
    other=$(grep -cvE 'in (\.nv_fatbin|__nv_relfatbin|\(cubin\)|\(fatbin file\)),' "$tmp/ours.all")
    # theirs
    { "$CUOBJDUMP" -all -lelf "$f" 2>/dev/null | grep -E '^ELF file' |
          sed -E 's/.*\.(sm_[0-9]+[af]?)\.cubin$/ELF \1/'
      "$CUOBJDUMP" -all -lptx "$f" 2>/dev/null | grep -E '^PTX file' |
          sed -E 's/.*\.sm_([0-9]+[af]?)\.ptx$/PTX compute_\1/'
    } | sort | uniq -c > "$tmp/theirs"
    n_ours=$(awk '{s+=$1} END {print s+0}' "$tmp/ours")
    n_theirs=$(awk '{s+=$1} END {print s+0}' "$tmp/theirs")
    if [ "$n_ours" -eq 0 ] && [ "$n_theirs" -eq 0 ]; then
        if [ "$other" -gt 0 ]; then
            match=$((match+1))
            echo "MATCH $f: cuobjdump lists nothing; preflight also found $other entries outside .nv_fatbin"
        else
            empty=$((empty+1))
        fi
        continue
    fi
    if cmp -s "$tmp/ours" "$tmp/theirs"; then
        match=$((match+1))
        extra=""; [ "$other" -gt 0 ] && extra=" (+$other entries in other sections, not listed by cuobjdump)"
        echo "MATCH $f: $n_ours entries$extra"
    else
        diff=$((diff+1))
        echo "DIFF  $f: preflight $n_ours entries, cuobjdump $n_theirs"
        diff "$tmp/ours" "$tmp/theirs" | sed 's/^/      /' | head -20
    fi
done < "$files"
echo "$match match, $diff differ, $empty without device code"
[ "$diff" -eq 0 ]
