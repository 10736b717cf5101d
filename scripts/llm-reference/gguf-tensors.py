#!/usr/bin/env python3
"""Writes the tensor table of a GGUF file as the `gguf` package (llama.cpp's gguf-py) reads it:
one line per tensor: name, ggml dims (innermost first, comma-separated), type id, absolute
data offset, byte count; then metadata lines `key<TAB>value` for scalar keys and array lengths.

    pip install gguf==0.19.0
    scripts/llm-reference/gguf-tensors.py MODEL.gguf > Tests/PipelineModelsTests/Golden/NAME.tsv
"""
import sys
from gguf import GGUFReader, GGUFValueType

reader = GGUFReader(sys.argv[1])
for t in reader.tensors:
    dims = ",".join(str(int(d)) for d in t.shape)
    print(f"tensor\t{t.name}\t{dims}\t{int(t.tensor_type)}\t{t.data_offset}\t{t.n_bytes}")
for name, field in reader.fields.items():
    types = field.types
    if not types:
        continue
    if types[0] == GGUFValueType.ARRAY:
        print(f"array\t{name}\t{len(field.data)}")
    elif types[0] == GGUFValueType.STRING:
        value = bytes(field.parts[field.data[0]]).decode("utf-8")
        print(f"string\t{name}\t{value[:60]!r}")
    else:
        print(f"scalar\t{name}\t{field.parts[field.data[0]].tolist()[0]!r}")
