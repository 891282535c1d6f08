#!/usr/bin/env bash
# report-screenshots.sh BUILD_DIR OUT_DIR -- the screenshots in docs/reports.md:
# each view of the HTML report, from generated cluster records (tests/reports/
# mkrecord.c) and a benchmark sweep against tests/sse_server, taken by headless
# Chromium and shrunk with Pillow (scripts/install-deps-reports.sh installs both).
set -euo pipefail
B="$1" OUT="$2"
W=$(mktemp -d)
trap 'kill $spid 2>/dev/null; rm -rf "$W"' EXIT
mkdir -p "$OUT"
"$B/tests/sse_server" --port-file "$W/port" --ttft-ms 3 --itl-ms 1 --itl-jitter-ms 1 --tokens 12 --fault http500 --fault-every 7 &
spid=$!
for _ in $(seq 100); do [ -s "$W/port" ] && break; sleep 0.05; done
"$B/preflight" bench --url "http://127.0.0.1:$(cat "$W/port")" --num-prompts 16 --concurrency 1,4,8 --warmup-requests 0 \
    --random-input-len 8 --no-progress -q --metrics-interval 0.05 --slo ttft=50,e2e=200 --json "$W/sweep.json" >/dev/null || true
"$B/tests/pf_mkrecord" cluster 4 "$W/c4.json"
"$B/tests/pf_mkrecord" cluster 4 "$W/c4-later.json" --variant 1
"$B/tests/pf_mkrecord" cluster 32 "$W/c32.json" --bench "$W/sweep.json"
"$B/preflight" report "$W/c4.json" -q --no-github --html "$W/c4.html"
"$B/preflight" report "$W/c32.json" -q --no-github --html "$W/c32.html"
"$B/preflight" report "$W/sweep.json" -q --no-github --html "$W/sweep.html" || true
"$B/preflight" compare "$W/c4.json" "$W/c4-later.json" --html "$W/cmp.html" >/dev/null || true
shot() { # name page size
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="$3" \
        --screenshot="$W/$1.png" "file://$W/$2" >/dev/null 2>&1
    python3 - "$W/$1.png" "$OUT/report-$1.png" <<'PY'
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB")
# crop the empty bottom, shrink to 900 px wide, 96 colours
px = im.load(); w, h = im.size
bottom = h
while bottom > 50 and all(px[x, bottom - 1] == (255, 255, 255) for x in range(0, w, 7)):
    bottom -= 1
im = im.crop((0, 0, w, min(h, bottom + 10)))
im = im.resize((900, int(im.size[1] * 900 / w)), Image.LANCZOS)
im.quantize(colors=96).save(sys.argv[2], optimize=True)
PY
}
shot header c4.html 1280,900
shot grid "c4.html#view=grid" 1280,700
shot pairs "c4.html#view=pairs" 1280,1300
shot nccl "c4.html#view=nccl" 1280,800
shot drift "c4.html#view=drift" 1280,900
shot kernels "c4.html#view=kernels" 1280,1000
shot bench "sweep.html#view=bench" 1280,1900
shot compare "cmp.html#view=compare" 1280,900
shot grid32 "c32.html#view=grid" 1280,1500
ls -la "$OUT"/report-*.png
