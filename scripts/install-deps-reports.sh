#!/usr/bin/env bash
# What the report renderers (reports/) and their tests need beyond scripts/install-deps.sh.
#   libjs-chart.js   Chart.js 3.9 (Expat), inlined into the binary at build time so the HTML
#                    page draws its charts offline; without it the page says so and still
#                    renders every table
#   chromium         headless browser that loads the page with the network blocked (tests)
#   libxml2-utils    xmllint --schema for the JUnit XSD (tests)
#   tidy             HTML validator (tests)
#   junitparser      a real JUnit consumer from PyPI that reads the counts back (tests)
# Idempotent; runs as root on Debian 12.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

pkgs=(libjs-chart.js chromium libxml2-utils tidy fonts-dejavu-core)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps-reports: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if ! python3 -c 'import junitparser' 2>/dev/null; then
    echo "install-deps-reports: installing junitparser (PyPI)"
    python3 -m pip install -q junitparser 2>/dev/null ||
        python3 -m pip install -q --break-system-packages junitparser
fi
