#!/usr/bin/env python3
"""RanPAC ridge sensitivity on the benchmark's cached features, with the numpy reference
(scripts/continual/head_reference.py); run scripts/continual-bench first. Prints, per sequence and
ridge: final accuracy, average incremental accuracy, forgetting (docs/continual-learning.md)."""
import json, os, importlib.machinery, numpy as np
m = importlib.machinery.SourceFileLoader('cb', 'scripts/continual-bench').load_module()
import head_reference as hr
for kind in ['images','speech']:
    feats={}
    for line in open(f'out/continual/features-{kind}.jsonl'):
        r=json.loads(line); feats[os.path.basename(r['item']).rsplit('.',1)[0]]=r['value']
    classes=[f"{c}-{s}" for s in m.SHAPES for c in m.COLORS] if kind=='images' else m.WORDS
    steps,train,test=m.split(feats,classes,2026,10,6)
    for ridge in [1e-4,1e-3,1e-2,1e-1,1.0]:
        preds={}
        for k in range(1,7):
            seen=[c for s in steps[:k] for c in s]
            tx=[feats[n] for c in seen for n in train[c]]; ty=[c for c in seen for n in train[c]]
            names=[n for c in seen for n in test[c]]
            cl,s=hr.ranpac_scores(tx,ty,[feats[n] for n in names],2048,0,ridge)
            preds[k]={n:cl[i] for n,i in zip(names,s.argmax(1))}
        acc,f=m.accuracies(preds,steps,test)
        print(kind,ridge,round(acc[-1],1),round(float(np.mean(acc)),1),round(float(f),1),flush=True)
