#!/usr/bin/env python3
"""How much of what the scene targets need is linearly readable from EfficientNet-Lite0's 7x7x1280 map:
a diagnostic for docs/fusion.md, not part of training. Linear probes (Adam, 300 full-batch epochs,
weight decay 1e-4, seed 0) on the mean- and max-pooled tokens of the training scenes' cached
features (DATA/features-cache.npy from scripts/train-fusion, or DATA/features.npy), 80/20 split:
per shape and per colour "is there one in the scene" (binary, accuracy over all labels, against
always answering the training split's majority) and the object count (4-way).

    /root/venvs/fusion/bin/python scripts/fusion/probe-features.py [DATA]
"""
import os, sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from fusion_common import COLORS, SHAPES, read_records  # noqa: E402


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else "out/fusion/train"
    torch.manual_seed(0)
    torch.set_num_threads(2)
    if os.path.exists(os.path.join(data, "features.npy")):
        feats = np.load(os.path.join(data, "features.npy"), mmap_mode="r")
        idx = np.arange(len(feats))
    else:
        feats = np.load(os.path.join(data, "features-cache.npy"), mmap_mode="r")
        idx = np.where(np.load(os.path.join(data, "features-done.npy")))[0]
    records = read_records(data)
    records = [records[i] for i in idx]
    x = torch.from_numpy(np.stack([np.asarray(feats[i], dtype=np.float32) for i in idx]))
    ys = torch.tensor([[float(any(o["shape"] == s for o in r["objects"])) for s in SHAPES] for r in records])
    yc = torch.tensor([[float(any(o["color"] == c for o in r["objects"])) for c in COLORS] for r in records])
    yn = torch.tensor([len(r["objects"]) - 1 for r in records])
    n = len(idx)
    tr = int(n * 0.8)
    print(f"{n} scenes ({tr} to fit, {n - tr} to score)")
    for name, pool in [("mean", lambda t: t.mean(1)), ("max", lambda t: t.amax(1))]:
        z = pool(x)
        mu, sd = z[:tr].mean(0), z[:tr].std(0) + 1e-3
        z = (z - mu) / sd
        probe = torch.nn.Linear(z.shape[1], len(SHAPES) + len(COLORS) + 4)
        opt = torch.optim.Adam(probe.parameters(), 1e-3, weight_decay=1e-4)
        target = torch.cat([ys, yc], 1)
        for _ in range(300):
            o = probe(z[:tr])
            loss = F.binary_cross_entropy_with_logits(o[:, :12], target[:tr]) + F.cross_entropy(o[:, 12:], yn[:tr])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            o = probe(z[tr:])
        shape = ((o[:, :4] > 0).float() == ys[tr:]).float().mean().item()
        colour = ((o[:, 4:12] > 0).float() == yc[tr:]).float().mean().item()
        count = (o[:, 12:].argmax(1) == yn[tr:]).float().mean().item()
        base_s = (ys[tr:] == (ys[:tr].mean(0) > 0.5).float()).float().mean().item()
        base_c = (yc[tr:] == (yc[:tr].mean(0) > 0.5).float()).float().mean().item()
        base_n = (yn[tr:] == yn[:tr].mode().values).float().mean().item()
        print(f"{name}-pooled: shape present {100 * shape:.1f}% (majority {100 * base_s:.1f}%), "
              f"colour present {100 * colour:.1f}% (majority {100 * base_c:.1f}%), count {100 * count:.1f}% (majority {100 * base_n:.1f}%)")


if __name__ == "__main__":
    main()
