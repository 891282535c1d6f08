#!/bin/sh
# spark1: start Ray with the proved settings loaded (the raylet's environment is what SGLang's workers get)
set -e
set -a
. "$(dirname "$0")/spark1.env"
set +a
exec ray start --head --node-ip-address=192.168.100.1 --port=6379 --num-gpus=1
