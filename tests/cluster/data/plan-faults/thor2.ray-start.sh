#!/bin/sh
# thor2: start Ray with the proved settings loaded (the raylet's environment is what SGLang's workers get)
set -e
set -a
. "$(dirname "$0")/thor2.env"
set +a
echo 'thor2: no proved interface -- see PLAN.txt' >&2
exit 1
