#!/usr/bin/env bash
# `preflight report`, `preflight compare` and `preflight plan` keep the immediate exit on the
# first SIGINT/SIGTERM/SIGHUP (core/main.c's table): they only read records
# and write files, and every file goes through temp + rename
# (pf_output_write_file), so a signal at any moment leaves each output
# either absent or whole -- never half-written.  This test proves it with
# real signals at random moments: every output that exists after a kill must
# be byte-identical to the one an uninterrupted run writes.
# plan writes several files (env files, ray start scripts, launch.sh,
# PLAN.txt): a kill between two leaves some of them, each whole.
#   harden_sig_files.sh PREFLIGHT MKRECORD CLUSTER_DATA_DIR
set -uo pipefail
P=$(realpath "$1") MK=$(realpath "$2") DATA=$(realpath "$3")
d=$(mktemp -d); trap 'rm -rf "$d"' EXIT
cd "$d" || exit 1
"$MK" cluster 32 a.json >/dev/null || { echo "FAIL: mkrecord"; exit 1; }
"$MK" cluster 32 b.json --variant 1 >/dev/null || { echo "FAIL: mkrecord variant"; exit 1; }
"$MK" plan "$DATA" p.json >/dev/null || { echo "FAIL: mkrecord plan"; exit 1; }
rep() { "$P" report a.json --html "$1/o.html" --junit "$1/o.xml" --markdown "$1/o.md" --prom "$1/o.prom"; }
cmp_() { "$P" compare a.json b.json --junit "$1/c.xml" --markdown "$1/c.md"; }
mkdir ref
rep ref >/dev/null 2>&1 || { echo "FAIL: reference report"; exit 1; }
cmp_ ref >/dev/null 2>&1; [ $? -eq 1 ] || { echo "FAIL: reference compare (want exit 1: a regression)"; exit 1; }
"$P" plan p.json --out ref/plan >/dev/null 2>&1 || { echo "FAIL: reference plan"; exit 1; }
[ "$(ls ref/plan | wc -l)" -ge 4 ] || { echo "FAIL: the reference plan wrote $(ls ref/plan | wc -l) files"; exit 1; }
# The driver: start the command, spin until the process is preflight itself
# (not bash before exec), then SIGTERM it after a random 0-60 ms -- inside the
# rendering and writing, a few tens of ms with start-up.  Prints the exit code.
cat >drive.py <<'PY'
import os, random, signal, subprocess, sys, time
exe = os.path.realpath(sys.argv[1])
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
while p.poll() is None:
    try:
        if os.readlink("/proc/%d/exe" % p.pid) == exe:
            break
    except OSError:
        pass
time.sleep(random.random() * 0.06)
try:
    p.send_signal(signal.SIGTERM)
except ProcessLookupError:
    pass
rc = p.wait()
print(128 - rc if rc < 0 else rc)
PY
fails=0 killed=0 partial=0
for i in $(seq 20); do
    for cmd in rep cmp_ plan; do
        rm -rf out; mkdir out
        if [ $cmd = rep ]; then
            rc=$(python3 drive.py "$P" report a.json --html out/o.html --junit out/o.xml --markdown out/o.md --prom out/o.prom)
        elif [ $cmd = cmp_ ]; then
            rc=$(python3 drive.py "$P" compare a.json b.json --junit out/c.xml --markdown out/c.md)
        else
            rc=$(python3 drive.py "$P" plan p.json --out out/plan)
        fi
        [ "$rc" = 143 ] && killed=$((killed + 1))
        [ "$rc" = 143 ] && ls -R out | grep -v '^out' | grep -qv tmp && partial=$((partial + 1))
        case "$cmd:$rc" in rep:0|rep:143|cmp_:1|cmp_:143|plan:0|plan:143) ;; *) echo "FAIL: $cmd exit $rc"; fails=$((fails + 1)) ;; esac
        for f in out/* out/plan/*; do
            [ -d "$f" ] && continue
            [ -e "$f" ] || continue
            case "$f" in
            *.tmp*) ;; # a temp file the kill left: never under the output's name
            *) cmp -s "$f" "ref/${f#out/}" || { echo "FAIL: $cmd: $f differs from an uninterrupted run's (half-written?)"; fails=$((fails + 1)); } ;;
            esac
        done
    done
done
[ $killed -gt 0 ] || { echo "FAIL: no run was interrupted: the test tested nothing"; fails=$((fails + 1)); }
echo "$killed of 60 runs killed by SIGTERM ($partial after some outputs were written); no output half-written"
[ $fails -eq 0 ] && echo OK
exit $((fails > 0))
