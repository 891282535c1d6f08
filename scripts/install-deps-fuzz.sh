#!/usr/bin/env bash
# What the fuzz targets and the static analysis need: clang (libFuzzer is
# part of it on Debian 12), bc for the timings.
set -euo pipefail
need=()
command -v clang >/dev/null || need+=(clang)
command -v bc >/dev/null || need+=(bc)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
