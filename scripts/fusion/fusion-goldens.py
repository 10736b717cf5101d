#!/usr/bin/env python3
"""Random-weight goldens for the engine's fusion connectors (FusionProjector, FusionResampler),
made with the PyTorch modules the training script uses (scripts/fusion/fusion_common.py), in
float64 and stored as float32, so the reference is exact to float32 rounding.

    /root/venvs/fusion/bin/python scripts/fusion/fusion-goldens.py

Writes Tests/PipelineModelsTests/Golden/fusion/NAME.safetensors (the weights, as the nodes read
them) and NAME.io.safetensors (`tokens [count, in]`, `expected [n, width]`). Sizes, gates and
token counts vary; counts are primes so nothing lines up with a block or a SIMD width. Gates are
set to non-zero values (a freshly made gated layer has tanh(0) = 0: it would test nothing).
"""
import os, sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from fusion_common import Projector, Resampler, save_safetensors  # noqa: E402

OUT = os.path.join(HERE, "../../Tests/PipelineModelsTests/Golden/fusion")

CASES = [
    # name, kind, in, width, tokens, extra
    ("projector-small", "projector", 24, 16, 7, {}),
    ("projector-odd", "projector", 37, 29, 13, {}),
    ("projector-lite0", "projector", 1280, 64, 49, {}),
    ("resampler-plain", "resampler", 24, 16, 13, dict(dim=32, queries=5, layers=1, heads=4, gated=False)),
    ("resampler-gated", "resampler", 40, 24, 31, dict(dim=48, queries=8, layers=2, heads=3, gated=True)),
    ("resampler-one-query", "resampler", 17, 11, 3, dict(dim=20, queries=1, layers=2, heads=2, gated=True)),
    ("resampler-lite0", "resampler", 1280, 64, 49, dict(dim=64, queries=16, layers=2, heads=8, gated=False)),
    # appended (the cases above keep their random streams): a projector with learned positions
    ("projector-positions", "projector", 37, 29, 13, dict(positions=13)),
    ("resampler-positions", "resampler", 40, 24, 31, dict(dim=48, queries=8, layers=2, heads=3, gated=True, positions=31)),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(2026)
    for name, kind, d_in, width, count, extra in CASES:
        if kind == "projector":
            m = Projector(d_in, width, extra.get("positions", 0))
            meta = {"connector": "projector"}
            if m.position is not None:
                with torch.no_grad():
                    m.position.normal_(0, 1)  # a fresh one is zero: it would test nothing
        else:
            m = Resampler(d_in, width, extra["dim"], extra["queries"], extra["layers"], extra["heads"], extra["gated"],
                          extra.get("positions", 0))
            meta = {"connector": "resampler", "heads": str(extra["heads"])}
            with torch.no_grad():
                if m.position is not None:
                    m.position.normal_(0, 1)
                for layer in m.layers:
                    # LayerNorm affine parameters away from their (1, 0) start, and gates open.
                    for norm in [layer.norm_q, layer.norm_kv, layer.norm_mlp]:
                        norm.weight.uniform_(0.5, 1.5)
                        norm.bias.uniform_(-0.2, 0.2)
                    if layer.gated:
                        layer.attn_gate.uniform_(-1.5, 1.5)
                        layer.mlp_gate.uniform_(-1.5, 1.5)
                m.queries.normal_(0, 1)
        m = m.double().eval()
        tokens = torch.randn(count, d_in, dtype=torch.float64) * 2
        # The engine sees float32 weights and tokens: round them first, compute in float64.
        with torch.no_grad():
            for p in m.parameters():
                p.copy_(p.float().double())
            tokens = tokens.float().double()
            expected = m(tokens.unsqueeze(0))[0]
        save_safetensors(os.path.join(OUT, f"{name}.safetensors"), m.state_dict(), meta)
        save_safetensors(os.path.join(OUT, f"{name}.io.safetensors"), {"tokens": tokens, "expected": expected}, {})
        print(name, tuple(tokens.shape), "->", tuple(expected.shape))


if __name__ == "__main__":
    main()
