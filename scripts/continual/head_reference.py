#!/usr/bin/env python3
"""Reference for head.prototypes' arithmetic, in numpy (float64), independent of the Swift code.

  nearest class mean: per-class sums and counts; cosine similarity with the mean, negative
                      Euclidean distance to it, or negative Mahalanobis distance under the shared
                      within-class covariance S = sum_c sum_(x in c) (x - mu_c)(x - mu_c)^T / max(N - C, 1),
                      used as S + lambda I with lambda = shrink * trace(S) / d (1 when S is zero)
  RanPAC:             h = ReLU(W x) with W the seeded SplitMix64/Box-Muller matrix (float32),
                      G = sum h h^T, C[:, c] = sum of h over class c, lambda = ridge * trace(G) / M,
                      weights = solve(G + lambda I, C) (numpy.linalg.solve, LU), scores = h^T weights

Run as a script it writes the golden that PipelineNodesTests/PrototypeHeadTests checks
(Tests/PipelineNodesTests/Golden/prototype-head.json): a seeded toy set of 3 classes in 16-d
with examples and queries, and every score under the three metrics (Mahalanobis with shrink 0.1)
and RanPAC (M = 32, seed 7).
The benchmark (scripts/continual-bench) imports `projection` and `ranpac_scores` to check the
Swift head's predictions against this code on the real features.
"""
import json
import math
import sys

import numpy as np

MASK = (1 << 64) - 1


def splitmix64(seed):
    state = seed & MASK
    while True:
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        yield z ^ (z >> 31)


def projection(inputs, outputs, seed):
    """The [outputs, inputs] float32 matrix RandomProjection makes."""
    gen = splitmix64(seed)
    count = inputs * outputs
    w = np.zeros(count, dtype=np.float32)
    i = 0
    while i < count:
        u1 = ((next(gen) >> 11) + 1) / 9007199254740992.0
        u2 = (next(gen) >> 11) / 9007199254740992.0
        r = math.sqrt(-2.0 * math.log(u1))
        w[i] = np.float32(r * math.cos(2.0 * math.pi * u2))
        if i + 1 < count:
            w[i + 1] = np.float32(r * math.sin(2.0 * math.pi * u2))
        i += 2
    return w.reshape(outputs, inputs)


def ncm_scores(train_x, train_y, queries, metric, shrink=0.1):
    classes = sorted(set(train_y))
    x = np.asarray(train_x, dtype=np.float64)
    y = np.asarray(train_y)
    sums = np.stack([x[y == c].sum(axis=0) for c in classes])
    counts = np.array([(y == c).sum() for c in classes], dtype=np.float64)
    q = np.asarray(queries, dtype=np.float64)
    if metric == "cosine":
        s = (q @ sums.T) / (np.linalg.norm(q, axis=1)[:, None] * np.linalg.norm(sums, axis=1)[None, :])
    elif metric == "mahalanobis":
        means = sums / counts[:, None]
        centred = x - means[[classes.index(c) for c in y]]
        cov = centred.T @ centred / max(len(x) - len(classes), 1)
        trace = np.trace(cov)
        lam = shrink * trace / x.shape[1] if trace > 0 else 1.0
        inv = np.linalg.inv(cov + lam * np.eye(x.shape[1]))
        diff = q[:, None, :] - means[None, :, :]
        s = -np.sqrt(np.einsum("qcd,de,qce->qc", diff, inv, diff))
    else:
        means = sums / counts[:, None]
        s = -np.sqrt(((q[:, None, :] - means[None, :, :]) ** 2).sum(axis=2))
    return classes, s


def ranpac_scores(train_x, train_y, queries, width, seed, ridge):
    classes = sorted(set(train_y))
    w = projection(len(train_x[0]), width, seed).astype(np.float64)
    def project(x):
        h = np.asarray(x, dtype=np.float32).astype(np.float64) @ w.T
        return np.maximum(h, 0)
    h = project(train_x)
    g = h.T @ h
    y = np.asarray(train_y)
    c = np.stack([h[y == k].sum(axis=0) for k in classes], axis=1)
    lam = max(ridge * np.trace(g) / width, 1e-12)
    weights = np.linalg.solve(g + lam * np.eye(width), c)
    return classes, project(queries) @ weights


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "Tests/PipelineNodesTests/Golden/prototype-head.json"
    rng = np.random.default_rng(20261206)
    dim, names = 16, ["circle", "square", "triangle"]
    centres = rng.normal(0, 1, size=(3, dim))
    examples, queries = [], []
    for k, name in enumerate(names):
        for j in range(4 + k):  # 4, 5 and 6 examples: unequal counts
            v = (centres[k] + 0.6 * rng.normal(0, 1, dim)).astype(np.float32)
            examples.append({"item": f"data/inbox/{name}/{j}.json", "label": name, "features": [float(f) for f in v]})
    for j in range(9):
        v = (centres[j % 3] + 0.8 * rng.normal(0, 1, dim)).astype(np.float32)
        queries.append({"item": f"data/queries/{j}.json", "features": [float(f) for f in v]})
    tx = [e["features"] for e in examples]
    ty = [e["label"] for e in examples]
    qx = [q["features"] for q in queries]
    golden = {"about": "made by scripts/continual/head_reference.py (numpy float64)", "examples": examples, "queries": queries}
    for metric in ["cosine", "euclidean", "mahalanobis"]:
        classes, s = ncm_scores(tx, ty, qx, metric)
        golden[f"ncm_{metric}"] = {"classes": classes, "scores": s.tolist()}
    golden["ncm_mahalanobis"]["shrink"] = 0.1
    classes, s = ranpac_scores(tx, ty, qx, 32, 7, 0.01)
    golden["ranpac"] = {"classes": classes, "scores": s.tolist(), "projection": 32, "seed": 7, "ridge": 0.01,
                        "w_first": [float(v) for v in projection(dim, 32, 7).ravel()[:8]]}
    with open(out, "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
