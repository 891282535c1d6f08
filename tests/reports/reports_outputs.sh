#!/usr/bin/env bash
# reports_outputs.sh -- every renderer on real records, read back by real consumers.
#   reports_outputs.sh PREFLIGHT MKRECORD SSE_SERVER SRCDIR WORKDIR [SANITIZE [NOCHARTS]]
# (NOCHARTS: preflight linked without Chart.js, as a build without libjs-chart.js)
# Records: `preflight check` on this machine (and --html/--junit on the live
# command), `preflight bench` against the scripted SSE server (a sweep with
# failures and /metrics), generated 4- and 32-node cluster records
# (tests/reports/mkrecord.c, through core/record.h) and a hostile one.
# Checks: JUnit against junit.xsd (xmllint) and counts through junitparser;
# Markdown and GitHub annotations against golden files; benchmark JSON
# against github-action-benchmark's input shape; Prometheus text read back
# (promtool when installed, PyPI prometheus-client's parser, and a strict parser here); the compare gate's
# exit codes; bad input; the 32-node render time and page size.
# Exit 0 pass, 1 fail, 77 skip (a consumer is not installed: never a pass).
set -uo pipefail
PF="$1" MK="$2" SSE="$3" SRC="$4" W="$5" SAN="${6:-OFF}" NOCHARTS="${7:-}"
skip() { echo "SKIPPED: $*"; exit 77; }
command -v xmllint >/dev/null || skip "xmllint missing (scripts/install-deps-reports.sh)"
python3 -c 'import junitparser' 2>/dev/null || skip "PyPI junitparser missing (scripts/install-deps-reports.sh)"
rm -rf "$W"; mkdir -p "$W"
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

# ---- records from the real binary and the fixtures ----
"$PF" check --json "$W/check.json" -q >/dev/null; rc=$?
[ $rc -le 3 ] || bad "preflight check exited $rc"
"$SSE" --port-file "$W/port" --ttft-ms 3 --itl-ms 1 --itl-jitter-ms 1 --tokens 12 --fault http500 --fault-every 7 &
spid=$!
trap 'kill $spid 2>/dev/null' EXIT
for _ in $(seq 100); do [ -s "$W/port" ] && break; sleep 0.05; done
"$PF" bench --url "http://127.0.0.1:$(cat "$W/port")" --num-prompts 16 --concurrency 1,4,8 --warmup-requests 0 \
    --random-input-len 8 --no-progress -q --metrics-interval 0.05 --slo ttft=50,e2e=200 \
    --json "$W/bench.json" >/dev/null
[ -s "$W/bench.json" ] || bad "preflight bench wrote no record"
kill $spid 2>/dev/null
# `preflight kernels` on a real CUDA library when the toolkit is here (kernel coverage view)
recs="check bench c4 c32 hostile"
klib=/usr/local/cuda/lib64/libcheckpoint.so
if [ -f "$klib" ]; then
    "$PF" kernels --arch 12.1 "$klib" --json "$W/kernels.json" -q >/dev/null; rc=$?
    [ $rc -le 1 ] && recs="$recs kernels" || bad "preflight kernels exited $rc"
else
    echo "note: no $klib, so no \`preflight kernels\` record (the cluster records still carry gpu.kernels coverage)"
fi
"$MK" cluster 4 "$W/c4.json" || bad "mkrecord cluster 4"
"$MK" cluster 4 "$W/c4-later.json" --variant 1 || bad "mkrecord cluster 4 variant"
"$MK" cluster 32 "$W/c32.json" --bench "$W/bench.json" || bad "mkrecord cluster 32"
"$MK" hostile "$W/hostile.json" || bad "mkrecord hostile"

# ---- every renderer on every record ----
for r in $recs; do
    "$PF" report "$W/$r.json" -q --no-github --html "$W/$r.html" --junit "$W/$r.xml" --markdown "$W/$r.md" \
        --prom "$W/$r.prom" --benchmark-json "$W/$r.bench.json"
    rc=$?
    [ $rc -eq 0 ] || bad "report $r exited $rc"
    for ext in html xml md prom bench.json bench.smaller.json; do
        [ -s "$W/$r.$ext" ] || bad "report $r wrote no $ext"
    done
done
for r in c4 kernels; do
    [ -f "$W/$r.html" ] || continue
    grep -q "Kernel coverage" "$W/$r.html" && ok "$r.html has the kernel coverage" || bad "$r.html lacks the kernel coverage"
done
# the live command writes the same outputs
"$PF" check -q --no-github --html "$W/live.html" --junit "$W/live.xml" --json "$W/live.json" >/dev/null
[ -s "$W/live.html" ] && [ -s "$W/live.xml" ] && ok "check --html/--junit on the live command" ||
    bad "check --html/--junit wrote nothing"

# ---- JUnit: the XSD and a real consumer ----
for r in $recs live; do
    xmllint --noout --schema "$SRC/junit.xsd" "$W/$r.xml" 2>"$W/$r.xmllint" || { bad "$r.xml invalid:"; head -5 "$W/$r.xmllint"; }
done
python3 - "$W" $recs <<'PY' || fails=$((fails + 1))
import json, sys
from junitparser import JUnitXml
w, names = sys.argv[1], sys.argv[2:]
bad = 0
for n in names:
    rec = json.load(open(f"{w}/{n}.json"))
    st = [c["status"] for c in rec["checks"]]
    want = dict(tests=len(st), failures=st.count("fail"), errors=st.count("error"), skipped=st.count("skip"))
    xml = JUnitXml.fromfile(f"{w}/{n}.xml")
    got = dict(tests=xml.tests, failures=xml.failures, errors=xml.errors, skipped=xml.skipped)
    # and the counts junitparser derives from the testcases themselves
    cases = [c for s in xml for c in s]
    kinds = [type(c.result[0]).__name__ if c.result else "pass" for c in cases]
    derived = dict(tests=len(cases), failures=kinds.count("Failure"), errors=kinds.count("Error"),
                   skipped=kinds.count("Skipped"))
    nodes = {c.get("node") or "cluster" for c in rec["checks"]}
    if got != want or derived != want or len(list(xml)) != len(nodes | {x["name"] for x in rec["nodes"]}):
        print(f"FAIL: junitparser on {n}.xml: attributes {got}, testcases {derived}, record {want}")
        bad = 1
    else:
        print(f"ok: junitparser reads {n}.xml as {got}")
sys.exit(bad)
PY

# ---- Markdown and annotations: golden files (4-node cluster) ----
GITHUB_STEP_SUMMARY="$W/summary.md" "$PF" report "$W/c4.json" -q --github > "$W/c4.annotations"
diff -u "$SRC/golden/c4.md" "$W/c4.md" > "$W/md.diff" && ok "Markdown matches golden/c4.md" || { bad "Markdown differs from golden"; head -20 "$W/md.diff"; }
diff -u "$SRC/golden/c4.annotations" "$W/c4.annotations" > "$W/an.diff" && ok "annotations match golden/c4.annotations" ||
    { bad "annotations differ from golden"; head -20 "$W/an.diff"; }
cmp -s "$W/summary.md" "$W/c4.md" && ok "step summary = --markdown" || bad "\$GITHUB_STEP_SUMMARY differs from --markdown"
# hostile: every annotation line is one of ours; nothing raw in Markdown
"$PF" report "$W/hostile.json" -q --github > "$W/hostile.annotations"
if grep -v -E '^::(error|warning|notice) title=[^:]*::' "$W/hostile.annotations" | grep -q .; then
    bad "hostile record injected a line into the workflow commands"; fi
# (code spans are literal text in CommonMark/GFM, so only text outside them counts)
python3 - "$W/hostile.md" <<'PY' || bad "raw HTML from the record in Markdown"
import re, sys
text = re.sub(r'(`+)(?:(?!\1).)*?\1', '', open(sys.argv[1]).read())
sys.exit(1 if re.search(r'<(script|img|iframe|svg|b)\b', text) else 0)
PY
grep -q -E '<script>alert|<img src|<iframe|<svg onload' "$W/hostile.html" && bad "raw HTML from the record in the page"
ns=$(grep -o '<script' "$W/hostile.html" | wc -l); nc=$(grep -o '<script' "$W/c4.html" | wc -l)
[ "$ns" -eq "$nc" ] || bad "hostile page has $ns '<script' where a clean page has $nc"
[ $(stat -c %s "$W/hostile.html") -lt 2000000 ] || bad "a 1 MiB string made the page $(stat -c %s "$W/hostile.html") bytes"

# ---- benchmark JSON: github-action-benchmark's custom input ----
python3 - "$W" <<'PY' || fails=$((fails + 1))
import json, sys, math
w = sys.argv[1]
bad = 0
def check(path, need_nonempty):
    global bad
    d = json.load(open(path))
    if not isinstance(d, list) or (need_nonempty and not d):
        print(f"FAIL: {path}: not a non-empty array"); bad = 1; return
    names = set()
    for e in d:
        if set(e) - {"name", "unit", "value", "range", "extra"} or not isinstance(e.get("name"), str) \
           or not isinstance(e.get("unit"), str) or not isinstance(e.get("value"), (int, float)) \
           or not math.isfinite(e["value"]) or ("extra" in e and not isinstance(e["extra"], str)):
            print(f"FAIL: {path}: bad entry {e}"); bad = 1
        if e["name"] in names:
            print(f"FAIL: {path}: duplicate name {e['name']}"); bad = 1
        names.add(e["name"])
    print(f"ok: {path}: {len(d)} entries")
check(f"{w}/bench.bench.json", True)          # throughputs, goodput
check(f"{w}/bench.bench.smaller.json", True)  # latency percentiles
check(f"{w}/c32.bench.json", True)            # + pair bandwidths, nccl p2p
check(f"{w}/check.bench.json", False)
b = json.load(open(f"{w}/bench.bench.json"))
if not any(e["name"] == "bench c=4 output_throughput" for e in b):
    print("FAIL: no 'bench c=4 output_throughput'"); bad = 1
s = json.load(open(f"{w}/bench.bench.smaller.json"))
if not any(e["name"] == "bench c=8 p99_ttft_ms" and e["unit"] == "ms" for e in s):
    print("FAIL: no 'bench c=8 p99_ttft_ms'"); bad = 1
sys.exit(bad)
PY

# ---- Prometheus text format ----
for r in check bench c32 hostile; do
    if command -v promtool >/dev/null; then
        promtool check metrics < "$W/$r.prom" >"$W/$r.promtool" 2>&1; rc=$?
        [ $rc -eq 0 ] || { bad "promtool on $r.prom exited $rc"; head -5 "$W/$r.promtool"; }
    fi
    if python3 -c 'import prometheus_client' 2>/dev/null; then
        python3 - "$W/$r.prom" <<'PY' || bad "prometheus_client cannot parse $r.prom"
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = list(text_string_to_metric_families(open(sys.argv[1], encoding="utf-8").read()))
assert fams and all(f.type == "gauge" for f in fams), [f.type for f in fams]
print(f"ok: prometheus_client reads {sys.argv[1]}: {len(fams)} families, {sum(len(f.samples) for f in fams)} samples")
PY
    fi
    python3 - "$W/$r.prom" <<'PY' || bad "$r.prom does not parse"
import re, sys
name = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
lab = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
sample = re.compile(rf'^({name})(\{{{lab}(?:,{lab})*\}})? (NaN|[+-]Inf|-?[0-9.eE+-]+)$')
seen_type, seen_help, last = set(), set(), None
text = open(sys.argv[1], encoding="utf-8").read()
assert text.endswith("\n"), "no final newline"
for ln in text.splitlines():
    m = re.match(rf'^# (HELP|TYPE) ({name}) (.*)$', ln)
    if m:
        s = seen_help if m.group(1) == "HELP" else seen_type
        assert m.group(2) not in s, f"second {m.group(1)} for {m.group(2)}"
        s.add(m.group(2)); last = m.group(2); continue
    m = sample.match(ln)
    assert m, f"bad line: {ln[:120]}"
    assert m.group(1) == last, f"sample of {m.group(1)} outside its family"
print(f"ok: {sys.argv[1]} parses ({len(seen_type)} families, no timestamps)")
PY
done

# ---- the regression gate ----
"$PF" compare "$W/c4.json" "$W/c4.json" > "$W/cmp-same.txt"; rc=$?
[ $rc -eq 0 ] && ok "compare same -> 0" || bad "compare of a record with itself exited $rc"
"$PF" compare "$W/c4.json" "$W/c4-later.json" --junit "$W/cmp.xml" --markdown "$W/cmp.md" --html "$W/cmp.html" > "$W/cmp-later.txt"; rc=$?
[ $rc -eq 1 ] && ok "compare 30% less bandwidth -> 1" || bad "compare with 30% less bandwidth exited $rc, want 1"
grep -q "matched by class NVIDIA GB10 CC 12.1 Socket 100G, baseline spark-01" "$W/cmp-later.txt" &&
    ok "replaced node matched by class" || bad "spark-new was not matched to spark-01 by class"
xmllint --noout --schema "$SRC/junit.xsd" "$W/cmp.xml" 2>/dev/null || bad "compare JUnit invalid"
grep -q "REGRESSION" "$W/cmp.md" && grep -q "REGRESSION" "$W/cmp.html" || bad "compare Markdown/HTML lack the regression"
"$PF" compare "$W/c4.json" "$W/c4-later.json" --max-regress 50% > /dev/null; rc=$?
[ $rc -eq 0 ] && ok "compare within --max-regress 50% -> 0" || bad "compare --max-regress 50% exited $rc, want 0"
"$PF" compare "$W/c4.json" "$W/c4-later.json" --metric mem.headroom > /dev/null; rc=$?
[ $rc -eq 0 ] && ok "compare --metric mem.headroom -> 0" || bad "compare --metric mem.headroom exited $rc, want 0"
"$PF" compare "$W/bench.json" "$W/bench.json" > /dev/null; rc=$?
[ $rc -eq 0 ] || bad "compare bench with itself exited $rc"
"$PF" compare "$W/c4.json" > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || bad "compare with one record exited $rc, want 2"
"$PF" compare "$W/c4.json" "$W/c4.json" --max-regress ten > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || bad "compare --max-regress ten exited $rc, want 2"

# ---- bad input: named, and whatever is there rendered and marked ----
echo "this is not json" > "$W/notjson.json"
"$PF" report "$W/notjson.json" --html "$W/x.html" 2>"$W/notjson.err"; rc=$?
[ $rc -eq 2 ] && grep -q "notjson.json: not JSON" "$W/notjson.err" && ok "not JSON -> 2, named" ||
    bad "not JSON: exit $rc, $(cat "$W/notjson.err")"
head -c $(( $(stat -c %s "$W/c4.json") * 2 / 3 )) "$W/c4.json" > "$W/truncated.json"
"$PF" report "$W/truncated.json" -q --html "$W/truncated.html" --junit "$W/truncated.xml" 2>"$W/truncated.err"; rc=$?
[ $rc -eq 3 ] && grep -q "truncated.json: truncated after" "$W/truncated.err" && grep -q "INCOMPLETE record" "$W/truncated.html" &&
    xmllint --noout --schema "$SRC/junit.xsd" "$W/truncated.xml" 2>/dev/null && ok "truncated -> 3, rendered, marked" ||
    bad "truncated: exit $rc, $(head -2 "$W/truncated.err")"
sed 's/preflight.run\/1/preflight.run\/7/' "$W/c4.json" > "$W/future.json"
"$PF" report "$W/future.json" -q --html "$W/future.html" 2>"$W/future.err"; rc=$?
[ $rc -eq 3 ] && grep -q "unknown schema version 'preflight.run/7'" "$W/future.err" && ok "unknown schema -> 3, named" ||
    bad "unknown schema: exit $rc, $(cat "$W/future.err")"
"$PF" report 2>/dev/null; rc=$?
[ $rc -eq 2 ] || bad "report without a record exited $rc, want 2"
"$PF" report "$W/c4.json" --bogus 2>/dev/null; rc=$?
[ $rc -eq 2 ] || bad "report --bogus exited $rc, want 2"
"$PF" report "$W/c4.json" --html 2>/dev/null; rc=$?
[ $rc -eq 2 ] || bad "report --html without a file exited $rc, want 2"
"$PF" report --help >/dev/null && "$PF" compare --help >/dev/null || bad "--help did not exit 0"
"$PF" report "$W/c4.json" -q --html /nonexistent-dir/x.html 2>"$W/nowrite.err"; rc=$?
[ $rc -eq 3 ] && grep -q "/nonexistent-dir/x.html" "$W/nowrite.err" || bad "unwritable --html: exit $rc, $(cat "$W/nowrite.err")"
"$PF" report "$W/missing-file.json" 2>"$W/missing.err"; rc=$?
[ $rc -eq 2 ] && grep -q "missing-file.json" "$W/missing.err" || bad "missing file: exit $rc"

# ---- a build without libjs-chart.js: tables, no charts, said so ----
if [ -n "$NOCHARTS" ]; then
    "$NOCHARTS" report "$W/c32.json" -q --no-github --html "$W/nocharts.html"; rc=$?
    if [ $rc -eq 0 ] && grep -q "Charts unavailable" "$W/nocharts.html" && ! grep -q "Chart.js v" "$W/nocharts.html" &&
        grep -q 'table class="grid"' "$W/nocharts.html" && grep -q "TTFT p99 ms" "$W/nocharts.html" &&
        [ "$(grep -c "Chart.js v" "$W/c32.html")" -ge 1 ]; then
        ok "without Chart.js: tables render, the page says charts are unavailable ($(stat -c %s "$W/nocharts.html") bytes)"
    else
        bad "page without Chart.js (exit $rc)"
    fi
fi

# ---- speed and size: 32 nodes + a benchmark sweep ----
limit=200; [ "$SAN" = ON ] && limit=1500  # sanitizers slow everything ~5x
best=$(python3 - "$PF" "$W/c32.json" "$W/perf.html" <<'PY'
import subprocess, sys, time
best = 1e9
for _ in range(5):
    t = time.perf_counter()
    subprocess.run([sys.argv[1], "report", sys.argv[2], "-q", "--no-github", "--html", sys.argv[3]], check=True)
    best = min(best, time.perf_counter() - t)
print(round(best * 1000))
PY
)
size=$(stat -c %s "$W/perf.html")
echo "32 nodes + sweep: HTML in $best ms (best of 5, whole process), $size bytes"
[ "$best" -lt $limit ] || bad "HTML of 32 nodes took $best ms (limit $limit)"
[ "$size" -lt 2000000 ] || bad "32-node page is $size bytes (limit 2 MB)"

[ $fails -eq 0 ] && { echo "PASSED"; exit 0; }
echo "$fails failure(s)"; exit 1
