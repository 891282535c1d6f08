#!/bin/sh
# thor1: start Ray with the proved settings loaded (the raylet's environment is what SGLang's workers get)
set -e
set -a
. "$(dirname "$0")/thor1.env"
set +a
exec ray start --address=192.168.100.1:6379 --node-ip-address=192.168.100.3 --num-gpus=1
