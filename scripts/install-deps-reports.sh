#!/usr/bin/env bash
# What the report renderers (reports/) and their tests need beyond scripts/install-deps.sh.
#   libjs-chart.js   Chart.js 3.9 (Expat), inlined into the binary at build time so the HTML
#                    page draws its charts offline; without it the page says so and still
#                    renders every table
#   chromium         headless browser that loads the page with the network blocked (tests)
#   libxml2-utils    xmllint --schema for the JUnit XSD (tests)
#   tidy             HTML validator (tests)
#   junitparser      a real JUnit consumer from PyPI that reads the counts back (tests)
#   pillow           reads the browser's screenshots back (tests)
#   prometheus-client  its text-format parser reads the --prom output back (tests); `promtool`
#                    (Debian's prometheus package) is used too when present, but not installed
#                    here: the package also installs and enables a Prometheus server
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
for mod in junitparser:junitparser PIL:pillow prometheus_client:prometheus-client; do
    if ! python3 -c "import ${mod%%:*}" 2>/dev/null; then
        echo "install-deps-reports: installing ${mod#*:} (PyPI)"
        python3 -m pip install -q "${mod#*:}" 2>/dev/null ||
            python3 -m pip install -q --break-system-packages "${mod#*:}"
    fi
done
