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
# one interpreter, the schema loaded once: the machine is shared
"$py" - "$src/docs/run-record.schema.json" "$work/local.json" "$work/prereq.json" <<'PY'
import copy, json, sys
import jsonschema
v = jsonschema.Draft202012Validator(json.load(open(sys.argv[1])))
fails = 0
recs = [json.load(open(p)) for p in sys.argv[2:]]
for p, r in zip(sys.argv[2:], recs):
    errs = list(v.iter_errors(r))
    if errs:
        print(f"FAIL: {p}: {errs[0].message} at /{'/'.join(map(str, errs[0].path))}"); fails += 1
    else:
        print(f"ok: {p} valid")
if recs[1]['nodes'][0]['facts'].get('prerequisites') != ['env.fingerprint']:
    print("FAIL: --only net.transport should list env.fingerprint as a prerequisite"); fails += 1
edits = ["f['nccl_transport']['transport'] = 3",
         "f['fingerprint']['nccl_host_hash_source'] = 'guess'",
         "f['env_source'] = None",
         "f['prerequisites'] = 'env.fingerprint'",
         "f['interfaces'] = [{'name': 'eth0'}]",
         "f['fingerprint']['libnccl'] = {'version_code': '2.28'} if f['fingerprint'].get('libnccl') is not None else 7"]
for e in edits:
    r = copy.deepcopy(recs[0]); f = r['nodes'][0]['facts']
    exec(e)
    if v.is_valid(r):
        print(f"FAIL: the schema accepted: {e}"); fails += 1
    else:
        print(f"ok: refused: {e}")
sys.exit(1 if fails else 0)
PY
