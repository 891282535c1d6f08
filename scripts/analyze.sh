#!/usr/bin/env bash
# Static analysis: gcc -fanalyzer over every module of the library (core/,
# probes/, bench/, reports/, cluster/).  A finding is either fixed or listed,
# with the reason it is not a bug, in scripts/analyzer-suppressions.txt
# (one line per finding: "path|warning-option|text fragment  # why").
# Exit 1 on any finding not suppressed.
#   scripts/analyze.sh            all modules      scripts/analyze.sh FILE...
set -uo pipefail
# gcc quotes names with ASCII quotes in the C locale (CI has no LANG) and
# with typographic ones in UTF-8 locales: one locale, so the suppressions match
export LC_ALL=C
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
sup="$root/scripts/analyzer-suppressions.txt"
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
    mapfile -t files < <(ls core/*.c probes/*.c probes/*/*.c bench/*.c reports/*.c cluster/*.c 2>/dev/null)
fi
flags=(-std=c17 -D_GNU_SOURCE -DPF_VERSION=\"analyze\" -I. $(pkg-config --cflags jansson libcurl)
       -fanalyzer -O0 -c -o /dev/null)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
printf '%s\n' "${files[@]}" | xargs -P "${PF_JOBS:-2}" -I{} sh -c 'gcc "$@" {} 2>&1 | grep -E "warning:|error:" || true' _ "${flags[@]}" >"$out"
new=0
while IFS= read -r line; do
    [ -n "$line" ] || continue
    file=${line%%:*}
    opt=$(printf '%s' "$line" | grep -o '\[-W[a-z-]*\]' | tr -d '[]')
    hit=0
    while IFS='|' read -r sf so st; do
        case "$sf" in ''|\#*) continue ;; esac
        st=${st%%  #*}
        [ "$file" = "$sf" ] && [ "$opt" = "$so" ] && case "$line" in *"$st"*) hit=1 ;; esac
    done <"$sup"
    if [ $hit -eq 0 ]; then echo "$line"; new=$((new + 1)); fi
done <"$out"
total=$(grep -c . "$out")
echo "analyze: ${#files[@]} files, $total findings, $new not fixed or justified"
[ $new -eq 0 ]
