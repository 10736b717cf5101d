#!/usr/bin/env python3
"""Which EfficientNet-Lite0 map carries what the scene targets need: a diagnostic for docs/fusion.md
(why the shipped projector reads the stride-16 map), not part of training. No LLM: a small
set-prediction model (the tokens through Linear + a learned position per token, one pre-norm
Transformer encoder layer of width 128, 4 heads; 25 learned queries, one per cell of make-scenes'
5 x 5 grid, cross-attend to them; each query classifies its cell as empty or one of the 4 x 8
shape-colour pairs) is trained on each map of the first N training scenes (80% to fit, 20% to
score; 20 epochs, AdamW 1e-3, batch 64, seed 0; tokens standardised per channel):

    head       the head's 7 x 7 x 1280 map (encoder.image `tokens: head`)
    stride16   block 10's 14 x 14 x 112 map with 2 x 2 cells merged: 7 x 7 x 448 (`tokens: stride16`)
    block10    the same 14 x 14 x 112 map unmerged: 196 tokens of 112

Scores on the held-out 20%: count (number of non-empty cells predicted = true count), and per
true object the shape and the colour predicted in its cell.

    /root/venvs/fusion/bin/python scripts/fusion/probe-maps.py [DATA] [N]    # default out/fusion/train 3000
"""
import importlib.util, os, sys, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from fusion_common import CELL, COLORS, SHAPES, read_records  # noqa: E402

spec = importlib.util.spec_from_file_location("make_features", os.path.join(HERE, "make-features.py"))
mf = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mf)


@torch.no_grad()
def maps(data, n):
    """Block 10's map [n, 196, 112] and the head's [n, 49, 1280] of the first n renders."""
    model = mf.load_encoder()
    b10 = np.zeros((n, 196, 112), np.float32)
    head = np.zeros((n, 49, 1280), np.float32)
    for s, x in mf.batches(data, n):
        k = len(x)
        x = model._swish(model._bn0(model._conv_stem(x)))
        for i, block in enumerate(model._blocks):
            x = block(x, drop_connect_rate=None)
            if i == mf.STRIDE16_BLOCK:
                b10[s:s + k] = x.flatten(2).transpose(1, 2).numpy()
        head[s:s + k] = model._swish(model._bn1(model._conv_head(x))).flatten(2).transpose(1, 2).numpy()
    return torch.from_numpy(b10), torch.from_numpy(head)


class SetModel(nn.Module):
    def __init__(self, tokens, width, d=128):
        super().__init__()
        self.inp = nn.Linear(width, d)
        self.pos = nn.Parameter(torch.zeros(tokens, d))
        self.enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(d, 4, 2 * d, 0.1, batch_first=True, norm_first=True), 1,
                                         enable_nested_tensor=False)
        self.q = nn.Parameter(torch.randn(25, d) * 0.02)
        self.dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(d, 4, 2 * d, 0.1, batch_first=True, norm_first=True), 1)
        self.out = nn.Linear(d, 1 + len(SHAPES) * len(COLORS))

    def forward(self, x):
        return self.out(self.dec(self.q.expand(len(x), -1, -1), self.enc(self.inp(x) + self.pos)))


def probe(name, x, y, fit):
    torch.manual_seed(0)
    mu, sd = x[:fit].mean((0, 1)), x[:fit].std((0, 1)) + 1e-3
    x = (x - mu) / sd
    m = SetModel(x.shape[1], x.shape[2])
    opt = torch.optim.AdamW(m.parameters(), 1e-3, weight_decay=0.01)
    weight = torch.ones(33)
    weight[0] = 0.3
    t = time.time()
    for _ in range(20):
        perm = torch.randperm(fit)
        for b in range(0, fit, 64):
            idx = perm[b:b + 64]
            loss = F.cross_entropy(m(x[idx]).reshape(-1, 33), y[idx].reshape(-1), weight=weight)
            opt.zero_grad()
            loss.backward()
            opt.step()
    m.eval()
    with torch.no_grad():
        p = m(x[fit:]).argmax(-1)
    t_ = y[fit:]
    occupied = t_ > 0
    count = ((p > 0).sum(1) == occupied.sum(1)).float().mean().item()
    shape = (((p - 1) // 8 == (t_ - 1) // 8) & (p > 0))[occupied].float().mean().item()
    colour = (((p - 1) % 8 == (t_ - 1) % 8) & (p > 0))[occupied].float().mean().item()
    print(f"| {name} | {list(x.shape[1:])} | {100 * count:.1f}% | {100 * shape:.1f}% | {100 * colour:.1f}% | {time.time() - t:.0f} s |",
          flush=True)


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else "out/fusion/train"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    torch.set_num_threads(2)
    records = read_records(data)[:n]
    y = torch.zeros(n, 25, dtype=torch.long)
    for i, r in enumerate(records):
        for o in r["objects"]:
            gx, gz = int(round(o["position"][0] / CELL)) + 2, int(round(o["position"][2] / CELL)) + 2
            y[i, gz * 5 + gx] = 1 + SHAPES.index(o["shape"]) * len(COLORS) + COLORS.index(o["color"])
    b10, head = maps(data, n)
    merged = mf.merge2x2(b10.transpose(1, 2).reshape(n, 112, 14, 14))
    fit = int(0.8 * n)
    print(f"{n} scenes of {data} ({fit} to fit, {n - fit} to score); CPU: {cpu()}")
    print("| map | tokens | count | shape | colour | fit time |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    probe("head (7 x 7 x 1280)", head, y, fit)
    probe("stride16, merged 2 x 2 (7 x 7 x 448)", merged, y, fit)
    probe("block 10 unmerged (14 x 14 x 112)", b10, y, fit)


def cpu():
    with open("/proc/cpuinfo") as f:
        return next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))


if __name__ == "__main__":
    main()
