#!/usr/bin/env python3
"""Checks sampled constrained outputs (pipeline-bench grammar samples): every output that finished
(finish != "length") must parse as JSON and validate against its schema with Python's
jsonschema (the draft the schema names, else 2020-12, with format checking). Prints a summary
and every failure; exits 1 if any finished output fails.

    python3 scripts/structured/validate-samples.py scripts/structured/sample-schemas.json samples.jsonl
"""
import json, sys
import jsonschema

schemas = {e["name"]: e["schema"] for e in json.load(open(sys.argv[1]))}
total = finished = valid = 0
cut = []
failures = []
for line in open(sys.argv[2]):
    s = json.loads(line)
    total += 1
    if s["finish"] == "length":
        cut.append(s["name"])
        continue
    finished += 1
    try:
        value = json.loads(s["text"])
    except ValueError as e:
        failures.append((s["name"], s["seed"], f"not JSON: {e}", s["text"][:120]))
        continue
    schema = schemas[s["name"]]
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    errors = list(cls(schema, format_checker=cls.FORMAT_CHECKER).iter_errors(value))
    if errors:
        failures.append((s["name"], s["seed"], errors[0].message, s["text"][:120]))
    else:
        valid += 1
print(f"samples {total}, finished {finished}, valid {valid}, invalid {len(failures)}, cut by max_tokens {len(cut)} {sorted(set(cut))}")
for f in failures:
    print("  FAIL", *f)
sys.exit(1 if failures else 0)
