#!/bin/sh
# On spark1 (stage 0, the Ray head), after every node's ray-start.sh
set -e
set -a
. "$(dirname "$0")/spark1.env"
set +a
# --mem-fraction-static 0.71: keeps 4 GiB of thor2's unified memory for the OS and processes
exec python -m sglang.launch_server --model-path /models/Qwen3-32B --pp 4 --nnodes 4 --use-ray \
    --host 0.0.0.0 --port 30000 --mem-fraction-static 0.71
