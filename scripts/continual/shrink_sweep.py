#!/usr/bin/env python3
"""NCM Mahalanobis shrinkage sensitivity on the benchmark's cached features, with the numpy reference
(scripts/continual/head_reference.py); run scripts/continual-bench first. Prints, per sequence and
shrink: final accuracy, average incremental accuracy, forgetting (docs/continual-learning.md)."""
import json, os, sys, importlib.machinery, numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
m = importlib.machinery.SourceFileLoader('cb', 'scripts/continual-bench').load_module()
import head_reference as hr
for kind in ['images', 'speech']:
    feats = {}
    for line in open(f'out/continual/features-{kind}.jsonl'):
        r = json.loads(line); feats[os.path.basename(r['item']).rsplit('.', 1)[0]] = r['value']
    classes = [f"{c}-{s}" for s in m.SHAPES for c in m.COLORS] if kind == 'images' else m.WORDS
    steps, train, test = m.split(feats, classes, 2026, 10, 6)
    for shrink in [0.001, 0.01, 0.1, 0.3, 1.0, 3.0]:
        preds = {}
        for k in range(1, 7):
            seen = [c for s in steps[:k] for c in s]
            tx = [feats[n] for c in seen for n in train[c]]; ty = [c for c in seen for n in train[c]]
            names = [n for c in seen for n in test[c]]
            cl, s = hr.ncm_scores(tx, ty, [feats[n] for n in names], "mahalanobis", shrink)
            preds[k] = {n: cl[i] for n, i in zip(names, s.argmax(1))}
        acc, f = m.accuracies(preds, steps, test)
        print(kind, shrink, round(acc[-1], 1), round(float(np.mean(acc)), 1), round(float(f), 1), flush=True)
