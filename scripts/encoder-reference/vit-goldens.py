#!/usr/bin/env python3
"""Writes random ViT weights and torchvision's outputs on them, for the Swift ViT's tests.

  Tests/PipelineModelsTests/Golden/vit/model.safetensors   a small torchvision VisionTransformer
      (image 64, patch 16, width 96, 3 layers, 3 heads, MLP 384, 10 classes) with seeded random
      weights, stored F16 under torchvision's state-dict names; `__metadata__` says num_heads
  Tests/PipelineModelsTests/Golden/vit/images/*.png         the inputs (made here, seeded)
  Tests/PipelineModelsTests/Golden/vit/golden.json          per input: the class-token feature
      after the final LayerNorm, the head logits and the patch tokens [N, 96], float32 values

No pretrained ViT ships with the project, so the check is architectural: the same random
weights through torchvision and through our code. The reference model runs on the F16-rounded
weights widened to float32, exactly what the Swift loader reads. Inputs are normalised as the
`encoder.vit` node does: (pixel / 255 - ImageNet mean) / ImageNet std, float32.

  native   64 x 64 RGB: torchvision's VisionTransformer forward as is
  large    96 x 96 RGB: torchvision's own `interpolate_embeddings(96, 16, state)` (bicubic,
           align_corners=True), loaded into VisionTransformer(image_size=96)
  gray     64 x 64 grayscale PNG: the channel replicated to RGB (what our image path does)
  wide     64 high x 96 wide RGB: torchvision requires square inputs, so this one runs the
           torchvision modules by hand (conv_proj, class token, encoder.layers, encoder.ln)
           with the position grid resized to 4 x 6 by the same F.interpolate call

With --vit-b16 DIR it also writes torchvision's `vit_b_16` (random weights, 330 MB F32) and its
outputs on the native image resized to 224 to DIR, for the flagged test (VIT_B16_DIR=DIR).

torchvision is not in the venv by default. Its PyPI wheel is a CUDA build whose _C extension
does not load under CPU torch; the model code needs none of it, so this script stubs the two
modules that register the C operators:

    /root/venvs/st/bin/pip download --no-deps torchvision==0.28.0 -d /tmp/tv   # matches torch 2.13
    /root/venvs/st/bin/pip install --no-deps /tmp/tv/torchvision-*.whl pillow
    /root/venvs/st/bin/python scripts/encoder-reference/vit-goldens.py [--vit-b16 DIR]
"""
import json, os, sys, types

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import save_file

for _name in ("torchvision._meta_registrations", "torchvision._autograd_registrations"):
    sys.modules[_name] = types.ModuleType(_name)
import torchvision  # noqa: E402
from torchvision.models.vision_transformer import VisionTransformer, interpolate_embeddings, vit_b_16  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "../.."))
OUT = os.path.join(ROOT, "Tests/PipelineModelsTests/Golden/vit")
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
CONFIG = dict(image_size=64, patch_size=16, num_layers=3, num_heads=3, hidden_dim=96, mlp_dim=384, num_classes=10)


def randomize(model, generator):
    """torchvision zero-initialises the class token and the head and sets LayerNorms to 1/0;
    give every parameter random values so each one matters to the outputs."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=generator)
            if ".ln" in name or name.startswith("encoder.ln"):
                p.copy_((1 + 0.2 * noise) if name.endswith("weight") else 0.1 * noise)
            elif name == "class_token" or name.startswith("heads."):
                p.copy_(0.3 * noise)
            else:
                p.add_(0.02 * noise)


def make_images():
    """Seeded inputs: smooth colour fields plus noise (so every patch differs)."""
    rng = np.random.default_rng(6)
    os.makedirs(os.path.join(OUT, "images"), exist_ok=True)

    def field(h, w, channels):
        y, x = np.mgrid[0:h, 0:w].astype(np.float32)
        planes = [127 + 100 * np.sin(x / (5 + 3 * c) + c) * np.cos(y / (7 + 2 * c)) for c in range(channels)]
        pixels = np.stack(planes, axis=-1) + rng.normal(0, 25, (h, w, channels))
        return np.clip(pixels, 0, 255).astype(np.uint8)

    images = {
        "native": Image.fromarray(field(64, 64, 3), "RGB"),
        "large": Image.fromarray(field(96, 96, 3), "RGB"),
        "gray": Image.fromarray(field(64, 64, 1)[:, :, 0], "L"),
        "wide": Image.fromarray(field(64, 96, 3), "RGB"),
    }
    for name, image in images.items():
        image.save(os.path.join(OUT, "images", name + ".png"))
    return images


def tensor(image):
    """[1, 3, h, w] float32 as the encoder.vit node prepares it."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
    inv = (np.float32(1) / STD).astype(np.float32)
    x = (rgb * np.float32(1 / 255) - MEAN) * inv
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]


def outputs(model, x, grid=None):
    """(feature, logits, tokens) of one image. With `grid`, runs torchvision's modules by hand
    with the position embeddings resized to `grid` (torchvision's forward insists on squares)."""
    with torch.no_grad():
        if grid is None:
            h = model.encoder.ln(model.encoder.layers(model.encoder.dropout(
                _tokens(model, x) + model.encoder.pos_embedding)))
            # The same through torchvision's own forward, for the feature and logits.
            assert torch.equal(model(x), model.heads(h[:, 0]))
        else:
            pos = model.encoder.pos_embedding
            g = int(round((pos.shape[1] - 1) ** 0.5))
            patches = pos[:, 1:].reshape(1, g, g, -1).permute(0, 3, 1, 2)
            patches = F.interpolate(patches, size=grid, mode="bicubic", align_corners=True)
            pos = torch.cat([pos[:, :1], patches.permute(0, 2, 3, 1).reshape(1, grid[0] * grid[1], -1)], dim=1)
            h = model.encoder.ln(model.encoder.layers(_tokens(model, x) + pos))
        feature = h[0, 0]
        return feature, model.heads(feature[None])[0], h[0, 1:]


def _tokens(model, x):
    """conv_proj patches in row-major order behind the class token (torchvision's
    _process_input without its square-size assertion)."""
    p = model.conv_proj(x).flatten(2).transpose(1, 2)
    return torch.cat([model.class_token.expand(x.shape[0], -1, -1), p], dim=1)


def floats(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def main():
    torch.manual_seed(6)
    generator = torch.Generator().manual_seed(6)
    model = VisionTransformer(**CONFIG).eval()
    randomize(model, generator)
    state = {k: v.detach().half().contiguous() for k, v in model.state_dict().items()}
    model.load_state_dict({k: v.float() for k, v in state.items()})
    os.makedirs(OUT, exist_ok=True)
    save_file(state, os.path.join(OUT, "model.safetensors"),
              metadata={"num_heads": str(CONFIG["num_heads"]), "source": "scripts/encoder-reference/vit-goldens.py"})

    images = make_images()
    large = VisionTransformer(**{**CONFIG, "image_size": 96}).eval()
    large.load_state_dict(interpolate_embeddings(96, 16, {k: v.float() for k, v in state.items()}))

    cases = []
    for name, image in images.items():
        x = tensor(image)
        if name == "large":
            feature, logits, tokens = outputs(large, x)
            # The hand-run path with F.interpolate agrees with torchvision's own resizing.
            check, _, _ = outputs(model, x, grid=(6, 6))
            assert torch.allclose(check, feature, atol=1e-6), (check - feature).abs().max()
        elif name == "wide":
            feature, logits, tokens = outputs(model, x, grid=(4, 6))
        else:
            feature, logits, tokens = outputs(model, x)
        cases.append({
            "name": name, "image": f"images/{name}.png", "height": x.shape[2], "width": x.shape[3],
            "feature": floats(feature), "logits": floats(logits), "tokens": floats(tokens),
        })
    golden = {
        "reference": f"torchvision {torchvision.__version__} VisionTransformer, torch {torch.__version__}",
        "config": CONFIG, "mean": MEAN.tolist(), "std": STD.tolist(), "cases": cases,
    }
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump(golden, f, separators=(",", ":"))
    print(f"wrote {OUT}: {len(cases)} cases, model {os.path.getsize(os.path.join(OUT, 'model.safetensors'))} bytes")

    if "--vit-b16" in sys.argv:
        write_vit_b16(sys.argv[sys.argv.index("--vit-b16") + 1], images["native"])


def write_vit_b16(directory, image):
    """torchvision's vit_b_16 shape config at seeded random weights (F32), and its outputs on
    the native image resized to 224 with PIL (the test reads the same PNG)."""
    os.makedirs(directory, exist_ok=True)
    generator = torch.Generator().manual_seed(16)
    model = vit_b_16(weights=None).eval()
    randomize(model, generator)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, os.path.join(directory, "model.safetensors"))
    resized = image.resize((224, 224), Image.BILINEAR)
    resized.save(os.path.join(directory, "input.png"))
    feature, logits, tokens = outputs(model, tensor(resized))
    with open(os.path.join(directory, "golden.json"), "w") as f:
        json.dump({"feature": floats(feature), "logits": floats(logits), "tokens": floats(tokens[:4])}, f)
    print(f"wrote {directory}: vit_b_16")


if __name__ == "__main__":
    main()
