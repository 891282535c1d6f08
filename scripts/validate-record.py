#!/usr/bin/env python3
"""Validate preflight run records (JSON files) against docs/run-record.schema.json.

usage: validate-record.py RECORD.json [RECORD.json ...]
Exit 0 when every file is valid; 1 with the first error per file otherwise.
"""
import json
import os
import sys

import jsonschema

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "..", "docs", "run-record.schema.json")) as f:
    schema = json.load(f)
validator = jsonschema.Draft202012Validator(schema)
bad = 0
for path in sys.argv[1:]:
    with open(path) as f:
        record = json.load(f)
    errors = sorted(validator.iter_errors(record), key=lambda e: list(e.path))
    if errors:
        bad += 1
        e = errors[0]
        print(f"{path}: INVALID at /{'/'.join(map(str, e.path))}: {e.message}")
    else:
        print(f"{path}: valid ({len(record['checks'])} checks)")
sys.exit(1 if bad else 0)
