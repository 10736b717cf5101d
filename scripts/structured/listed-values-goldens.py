#!/usr/bin/env python3
"""Goldens for JSONSchemaValidator: for every schema of the shared corpus that lists its values
(`enum`/`const` at the top or in an `allOf` part, through `$ref`s) and has other keywords the
grammar cannot express, the listed values Python `jsonschema` accepts under the whole schema.

Usage: scripts/structured/listed-values-goldens.py [CORPUS] > Tests/PipelineModelsTests/Golden/grammar/listed-values.json
(CORPUS defaults to ../shared/data/jsonschema). Validator: the one the schema's `$schema` names,
else Draft 2020-12; no format checking (the Swift side refuses `format` on listed strings).
Made with jsonschema 4.26.0 (Debian's python3-jsonschema, or PyPI).
"""
import json
import os
import sys

import jsonschema

LEGACY = ("draft-03", "draft-04", "draft-06", "draft-07")


def node_at(root, path):
    if path == "":
        return root
    if not path.startswith("/"):
        return None
    node = root
    from urllib.parse import unquote
    for raw in path[1:].split("/"):
        part = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def candidates(schema, root, depth=0):
    if depth >= 16 or not isinstance(schema, dict):
        return None
    legacy = any(d in str(root.get("$schema", "")) for d in LEGACY)
    ref = schema.get("$ref")
    if isinstance(ref, str) and legacy:
        if not ref.startswith("#"):
            return None
        return candidates(node_at(root, ref[1:]), root, depth + 1)
    if "const" in schema:
        return [schema["const"]]
    if isinstance(schema.get("enum"), list):
        return schema["enum"]
    parts = list(schema.get("allOf") or []) if isinstance(schema.get("allOf"), list) else []
    if isinstance(ref, str) and ref.startswith("#"):
        n = node_at(root, ref[1:])
        if n is not None:
            parts.append(n)
    for p in parts:
        c = candidates(p, root, depth + 1)
        if c is not None:
            return c
    return None


GRAMMAR_LIMITS = {"if", "then", "else", "patternProperties", "propertyNames", "dependencies", "dependentRequired",
                  "dependentSchemas", "contains", "minContains", "maxContains", "multipleOf",
                  "unevaluatedProperties", "unevaluatedItems", "$dynamicRef", "$recursiveRef", "allOf", "not"}


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../../shared/data/jsonschema")
    out = []
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(folder, name)) as f:
            schema = json.load(f)["schema"]
        if not isinstance(schema, dict) or not (GRAMMAR_LIMITS & set(schema)):
            continue
        cands = candidates(schema, schema)
        if cands is None:
            continue
        try:
            cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
            v = cls(schema)
            kept = []
            for c in cands:
                if v.is_valid(c) and not any(jsonschema._utils.equal(c, k) for k in kept):
                    kept.append(c)
        except Exception as e:  # a reference or regex Python cannot follow: not a golden
            print(f"skip {name}: {type(e).__name__}", file=sys.stderr)
            continue
        out.append({"file": name, "candidates": len(cands), "kept": kept})
    json.dump(out, sys.stdout, indent=0, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
