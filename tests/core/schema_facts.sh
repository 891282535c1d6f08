#!/bin/sh
# schema_facts.sh -- the node facts other checks read are typed in
# docs/run-record.schema.json: records from the real binary validate, and a
# record with one such fact of the wrong type does not.
#   schema_facts.sh PREFLIGHT PYTHON SOURCE_DIR
pf="$1"; py="$2"; src="$3"
"$py" -c 'import jsonschema' 2>/dev/null || { echo "SKIPPED: python3 jsonschema missing (scripts/install-deps.sh --tests)"; exit 77; }
work=$(mktemp -d /tmp/pf_sf_XXXXXX)
trap 'rm -rf "$work"' EXIT
"$pf" check --json "$work/local.json" >/dev/null 2>&1
"$pf" check --only net.transport --json "$work/prereq.json" >/dev/null 2>&1
"$py" "$src/scripts/validate-record.py" "$work/local.json" "$work/prereq.json" || exit 1
fails=0
for edit in "f['nccl_transport']['transport'] = 3" "f['fingerprint']['nccl_host_hash_source'] = 'guess'" \
            "f['env_source'] = None" "f['prerequisites'] = 'env.fingerprint'" "f['interfaces'] = [{'name': 'eth0'}]"; do
    "$py" - "$work/local.json" "$work/bad.json" "$edit" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); f = r['nodes'][0]['facts']
exec(sys.argv[3])
json.dump(r, open(sys.argv[2], 'w'))
PY
    if "$py" "$src/scripts/validate-record.py" "$work/bad.json" >/dev/null; then
        echo "FAIL: the schema accepted: $edit"; fails=$((fails+1))
    else
        echo "ok: refused: $edit"
    fi
done
[ $fails -eq 0 ]
