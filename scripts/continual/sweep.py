#!/usr/bin/env python3
"""Sensitivity of head.prototypes' one free number on the benchmark's cached features, with the numpy
reference (scripts/continual/head_reference.py); run scripts/continual-bench first.

    python3 scripts/continual/sweep.py ridge     RanPAC's ridge (projection 2048, seed 0)
    python3 scripts/continual/sweep.py shrink    NCM Mahalanobis shrinkage

Prints, per sequence and value: final accuracy, average incremental accuracy, forgetting
(docs/continual-learning.md)."""
import json, os, sys, importlib.machinery, numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
m = importlib.machinery.SourceFileLoader('cb', 'scripts/continual-bench').load_module()
import head_reference as hr

which = sys.argv[1] if len(sys.argv) > 1 else "shrink"
values = {"ridge": [1e-4, 1e-3, 1e-2, 1e-1, 1.0], "shrink": [0.001, 0.01, 0.1, 0.3, 1.0, 3.0]}[which]


def scores(tx, ty, qx, value):
    if which == "ridge":
        return hr.ranpac_scores(tx, ty, qx, 2048, 0, value)
    return hr.ncm_scores(tx, ty, qx, "mahalanobis", value)


for kind in ['images', 'speech']:
    feats = {}
    for line in open(f'out/continual/features-{kind}.jsonl'):
        r = json.loads(line); feats[os.path.basename(r['item']).rsplit('.', 1)[0]] = r['value']
    classes = [f"{c}-{s}" for s in m.SHAPES for c in m.COLORS] if kind == 'images' else m.WORDS
    steps, train, test = m.split(feats, classes, 2026, 10, 6)
    for value in values:
        preds = {}
        for k in range(1, 7):
            seen = [c for s in steps[:k] for c in s]
            tx = [feats[n] for c in seen for n in train[c]]; ty = [c for c in seen for n in train[c]]
            names = [n for c in seen for n in test[c]]
            cl, s = scores(tx, ty, [feats[n] for n in names], value)
            preds[k] = {n: cl[i] for n, i in zip(names, s.argmax(1))}
        acc, f = m.accuracies(preds, steps, test)
        print(kind, value, round(acc[-1], 1), round(float(np.mean(acc)), 1), round(float(f), 1), flush=True)
