#!/usr/bin/env python3
"""Dequantizes the first rows of chosen tensors with llama.cpp's gguf-py and writes them as
little-endian float32 files, the reference for our dequantization on the same bytes.

    pip install gguf==0.19.0
    scripts/llm-reference/dequant-rows.py MODEL.gguf OUTDIR TENSOR[:ROWS]...
"""
import os, sys
import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize

path, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
tensors = {t.name: t for t in GGUFReader(path).tensors}
for spec in sys.argv[3:]:
    name, _, rows = spec.partition(":")
    rows = int(rows or 2)
    t = tensors[name]
    values = dequantize(t.data, t.tensor_type).reshape(-1, int(t.shape[0]))[:rows]
    values.astype("<f4").tofile(os.path.join(out, f"{name}.{t.tensor_type.name}.f32"))
    print(name, t.tensor_type.name, values.shape)
