"""Shared pieces of scripts/train-multitask and scripts/multitask/goldens.py: the reference
EfficientNet-Lite0 (efficientnet_lite_pytorch on the original .pth, as the fusion scripts load it)
split into a frozen trunk and an adapted region, the singular-value and LoRA adapters, and the
light task decoders. docs/multitask.md describes the method.

Layout at a 128 x 128 input: the trunk (stem, blocks 0-10) is frozen in every row and gives the
stride-4 map (block 2, 24 x 32 x 32), the stride-8 map (block 4, 40 x 16 x 16) and the stride-16
map (block 10, 112 x 8 x 8); the adapted region (blocks 11-15, the last two stages, and the head
convolution) gives the head's map (1280 x 4 x 4). The adapters act on the region's 11 pointwise
convolutions (every block's expansion and projection, and the head): 2.5 M of the backbone's
3.4 M convolution weights.
"""
import importlib.util, os, sys

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "scripts", "fusion"))
from fusion_common import load_safetensors, save_safetensors  # noqa: E402,F401

SIZE = 128
TRUNK_TAPS = (2, 4, 10)      # stride 4, 8 and 16 maps
SPLIT = 11                   # blocks SPLIT.. are adapted
BLOCKS = 16
TASKS = ["segment", "depth", "count"]
CLASSES = ["background", "cube", "sphere", "cylinder", "cone"]
COUNTS = 6                   # 1..6 objects
WIDTH = 32                   # decoder width
KNOTS = 8                    # pieces of each monotone warp


def adapted_names():
    names = []
    for i in range(SPLIT, BLOCKS):
        names += [f"_blocks.{i}._expand_conv.weight", f"_blocks.{i}._project_conv.weight"]
    return names + ["_conv_head.weight"]


def load_encoder():
    spec = importlib.util.spec_from_file_location("make_features", os.path.join(ROOT, "scripts", "fusion", "make-features.py"))
    mf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mf)
    model = mf.load_encoder()
    model.requires_grad_(False)
    return model


def to_input(images_uint8):
    """uint8 [B, H, W, 3] -> the model's input [B, 3, H, W], (x - 127) / 128 as every encoder here."""
    return (images_uint8.permute(0, 3, 1, 2).float() - 127.0) / 128.0


@torch.no_grad()
def trunk(model, x):
    """Frozen stem and blocks 0-10: (stride-4, stride-8, stride-16 maps); the last is the region's input."""
    x = model._swish(model._bn0(model._conv_stem(x)))
    taps = {}
    for i in range(SPLIT):
        x = model._blocks[i](x)
        if i in TRUNK_TAPS:
            taps[i] = x
    return tuple(taps[i] for i in TRUNK_TAPS)


def pointwise(x, w):
    return F.conv2d(x, w[:, :, None, None])


def region(model, x, weights):
    """Blocks 11-15 and the head with the pointwise matrices from `weights` (name -> [out, in]):
    the head map. Mirrors efficientnet_lite_pytorch's MBConvBlock.forward (eval)."""
    for i in range(SPLIT, BLOCKS):
        b = model._blocks[i]
        p = f"_blocks.{i}."
        h = b._swish(b._bn0(pointwise(x, weights[p + "_expand_conv.weight"])))
        h = b._swish(b._bn1(b._depthwise_conv(h)))
        h = b._bn2(pointwise(h, weights[p + "_project_conv.weight"]))
        a = b._block_args
        if b.id_skip and a.stride == 1 and a.input_filters == a.output_filters:
            h = h + x
        x = h
    return model._swish(model._bn1(pointwise(x, weights["_conv_head.weight"])))


def original_weights(model):
    state = model.state_dict()
    return {n: state[n][:, :, 0, 0].clone() for n in adapted_names()}


def live_weights(model):
    """The region's pointwise matrices as views of the model's parameters (full fine-tuning)."""
    params = dict(model.named_parameters())
    return {n: params[n][:, :, 0, 0] for n in adapted_names()}


def warp(x, theta):
    """A monotone piecewise-linear map of [0, 1] (extended linearly past 1) with KNOTS equal pieces,
    slope exp(theta_k) on piece k: f(0) = 0, the identity at theta = 0."""
    k = theta.shape[-1]
    starts = torch.arange(k, dtype=x.dtype) / k
    widths = torch.full((k,), 1.0 / k, dtype=x.dtype)
    widths[-1] = float("inf")
    pieces = torch.minimum(torch.clamp(x[:, None] - starts[None, :], min=0), widths[None, :])
    return pieces @ torch.exp(theta)


class SVAdapter(nn.Module):
    """DiTASK-style: W = U diag(s) V^T once; task t uses U diag(smax * f_t(f_shared(s / smax))) V^T
    with f a monotone piecewise-linear warp (KNOTS parameters per matrix and warp)."""

    def __init__(self, base, tasks):
        super().__init__()
        self.names, self.tasks = list(base), list(tasks)
        self.u, self.s, self.vt = {}, {}, {}
        for n, w in base.items():
            u, s, vt = torch.linalg.svd(w.double(), full_matrices=False)
            self.u[n], self.s[n], self.vt[n] = u.float(), s.float(), vt.float()
        self.shared = nn.ParameterDict({key(n): nn.Parameter(torch.zeros(KNOTS)) for n in self.names})
        self.task = nn.ModuleDict({t: nn.ParameterDict({key(n): nn.Parameter(torch.zeros(KNOTS)) for n in self.names})
                                   for t in self.tasks})

    def sigma(self, task, n):
        s = self.s[n]
        smax = s[0]
        return smax * warp(warp(s / smax, self.shared[key(n)]), self.task[task][key(n)])

    def weights(self, task):
        return {n: (self.u[n] * self.sigma(task, n)[None, :]) @ self.vt[n] for n in self.names}


class LoRAAdapter(nn.Module):
    """Per task, W + B_t A_t (rank r; B starts at zero)."""

    def __init__(self, base, tasks, rank, seed):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.base, self.names = base, list(base)
        self.a = nn.ModuleDict({t: nn.ParameterDict({key(n): nn.Parameter(torch.randn(rank, w.shape[1], generator=g) / w.shape[1] ** 0.5)
                                                     for n, w in base.items()}) for t in tasks})
        self.b = nn.ModuleDict({t: nn.ParameterDict({key(n): nn.Parameter(torch.zeros(w.shape[0], rank)) for n, w in base.items()})
                                for t in tasks})

    def weights(self, task):
        return {n: self.base[n] + self.b[task][key(n)] @ self.a[task][key(n)] for n in self.names}


def key(name):
    return name.replace(".", "/")


def up(x, factor):
    return x.repeat_interleave(factor, dim=2).repeat_interleave(factor, dim=3)


class DenseDecoder(nn.Module):
    """Four 1x1 projections (stride 4, 8, 16, 32 maps) summed at stride 4 (nearest upsampling),
    ReLU, a 1x1 mix, ReLU, a 1x1 output: [B, out, 32, 32] at a 128 x 128 input."""

    def __init__(self, out):
        super().__init__()
        self.p4, self.p8 = nn.Conv2d(24, WIDTH, 1), nn.Conv2d(40, WIDTH, 1)
        self.p16, self.p32 = nn.Conv2d(112, WIDTH, 1), nn.Conv2d(1280, WIDTH, 1)
        self.mix, self.out = nn.Conv2d(WIDTH, WIDTH, 1), nn.Conv2d(WIDTH, out, 1)

    def forward(self, f4, f8, f16, f32):
        h = self.p4(f4) + up(self.p8(f8), 2) + up(self.p16(f16), 4) + up(self.p32(f32), 8)
        return self.out(F.relu(self.mix(F.relu(h))))


class CountDecoder(nn.Module):
    """The head map's mean -> 64 -> ReLU -> COUNTS logits (1..COUNTS objects)."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(1280, 64), nn.Linear(64, COUNTS)

    def forward(self, f4, f8, f16, f32):
        return self.fc2(F.relu(self.fc1(f32.mean(dim=(2, 3)))))


def make_decoder(task):
    return {"segment": lambda: DenseDecoder(len(CLASSES)), "depth": lambda: DenseDecoder(1), "count": CountDecoder}[task]()
