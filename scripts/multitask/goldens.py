#!/usr/bin/env python3
"""Parity goldens for head.multitask: the shipped weights (pipelines/models/multitask.safetensors)
on the reference EfficientNet-Lite0 (efficientnet_lite_pytorch, original .pth) and
scripts/multitask/common.py's adapters and decoders, run on held-out renders.

    scripts/multitask/goldens.py DATA_DIR [WEIGHTS] [COUNT]

Copies COUNT (default 20) held-out renders of DATA_DIR (scripts/multitask/make-data) to
Tests/PipelineModelsTests/Golden/multitask/ and writes goldens.safetensors there: segment logits
[N, classes, 32, 32], depth in metres [N, 32, 32], count logits [N, counts], in the order of the
`images` metadata. PNGs are decoded by ffmpeg (RGB, alpha dropped), scaled (x - 127) / 128.
"""
import json, os, shutil, subprocess, sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402


def rgb(path):
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         check=True, capture_output=True).stdout
    assert len(raw) == C.SIZE * C.SIZE * 3, (path, len(raw))
    return torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(1, C.SIZE, C.SIZE, 3)


def load(weights):
    tensors, meta = C.load_safetensors(weights)
    model = C.load_encoder()
    base = C.original_weights(model)
    ad = C.SVAdapter(base, C.TASKS)
    with torch.no_grad():
        for n in ad.names:
            ad.shared[C.key(n)].copy_(tensors[f"warp.shared.{n}"])
            for t in C.TASKS:
                ad.task[t][C.key(n)].copy_(tensors[f"warp.{t}.{n}"])
    decoders = {}
    for t in C.TASKS:
        d = C.make_decoder(t)
        d.load_state_dict({k[len(t) + 1:]: torch.as_tensor(v) for k, v in tensors.items()
                         if k.startswith(t + ".") and k != "depth.normalization"})
        decoders[t] = d.eval()
    mean, std = [float(v) for v in np.asarray(tensors["depth.normalization"])]
    return model, ad, decoders, mean, std


@torch.no_grad()
def run(model, ad, decoders, mean, std, x):
    f4, f8, f16 = C.trunk(model, x)
    out = {}
    for t in C.TASKS:
        out[t] = decoders[t](f4, f8, f16, C.region(model, f16, ad.weights(t)))
    out["depth"] = out["depth"][:, 0] * std + mean
    return out


def main():
    data = sys.argv[1]
    weights = sys.argv[2] if len(sys.argv) > 2 else os.path.join(C.ROOT, "pipelines", "models", "multitask.safetensors")
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    torch.set_num_threads(2)
    split = np.load(os.path.join(data, "multitask.npz"))["split"]
    held = np.flatnonzero(split == 1)[:count]
    folder = os.path.join(C.ROOT, "Tests", "PipelineModelsTests", "Golden", "multitask")
    os.makedirs(folder, exist_ok=True)
    model, ad, decoders, mean, std = load(weights)
    names, outs = [], {t: [] for t in C.TASKS}
    for i in held:
        name = f"scene-{i:05d}.png"
        shutil.copyfile(os.path.join(data, "renders", name), os.path.join(folder, name))
        o = run(model, ad, decoders, mean, std, C.to_input(rgb(os.path.join(folder, name))))
        for t in C.TASKS:
            outs[t].append(o[t][0])
        names.append(name)
    tensors = {t: torch.stack(v) for t, v in outs.items()}
    C.save_safetensors(os.path.join(folder, "goldens.safetensors"), tensors,
                       {"images": ",".join(names), "weights": os.path.relpath(weights, C.ROOT),
                        "script": "scripts/multitask/goldens.py", "torch": torch.__version__})
    print(json.dumps({t: list(v.shape) for t, v in tensors.items()}), "->", folder)


if __name__ == "__main__":
    main()
