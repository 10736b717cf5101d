#!/usr/bin/env python3
"""Takes the tensors out of a TorchScript archive (`torch.jit.save`) into a safetensors file,
with the standard library only.

    convert-torchscript.py IN.jit OUT.safetensors [PREFIX]

A TorchScript archive is a zip: `NAME/data.pkl` pickles the module tree (each module an
object of a `__torch__.…` class built from a dict of its attributes; tensors pickled as
`torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …)` whose storages are
persistent ids `('storage', torch.FloatStorage, key, location, numel)`), and
`NAME/data/KEY` holds each storage's little-endian bytes. Every tensor reachable through
module attributes is written under its dotted path (`encoder.0.reparam_conv.weight`);
with PREFIX only those under it, the prefix removed (`_model.` keeps one submodule).
The code is never run: only the classes in `SAFE_GLOBALS` and `__torch__` placeholders
may be loaded. Strided tensors are gathered into contiguous order.
"""
import collections
import json
import pickle
import struct
import sys
import zipfile

# Storage class name -> (safetensors dtype, element size).
STORAGES = {
    "FloatStorage": ("F32", 4),
    "DoubleStorage": ("F64", 8),
    "HalfStorage": ("F16", 2),
    "BFloat16Storage": ("BF16", 2),
    "LongStorage": ("I64", 8),
    "IntStorage": ("I32", 4),
    "ShortStorage": ("I16", 2),
    "CharStorage": ("I8", 1),
    "ByteStorage": ("U8", 1),
    "BoolStorage": ("BOOL", 1),
}


class StorageType:
    """Stands in for `torch.FloatStorage` and its siblings."""

    def __init__(self, name):
        self.dtype, self.itemsize = STORAGES[name]


class Storage:
    def __init__(self, stype, data):
        self.stype, self.data = stype, data


class Tensor:
    """A view into a storage: offset, shape and strides in elements."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset = storage, offset
        self.size, self.stride = tuple(size), tuple(stride)


class Module:
    """Stands in for every `__torch__.…` class: keeps the attribute dict it is built from."""

    def __setstate__(self, state):
        self.__dict__["attributes"] = state if isinstance(state, dict) else {}


def rebuild_tensor(storage, storage_offset, size, stride, *rest):
    return Tensor(storage, storage_offset, size, stride)


def rebuild_parameter(data, requires_grad, backward_hooks, *rest):
    return data


def build_list(items):
    return list(items)


SAFE_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): rebuild_parameter,
    ("torch.jit._pickle", "build_intlist"): build_list,
    ("torch.jit._pickle", "build_doublelist"): build_list,
    ("torch.jit._pickle", "build_boollist"): build_list,
    ("torch.jit._pickle", "build_tensorlist"): build_list,
    ("torch.jit._pickle", "restore_type_tag"): lambda value, tag: value,
}


class ArchiveUnpickler(pickle.Unpickler):
    """Resolves only the globals above and `__torch__` module classes; storages are read
    from the archive's `data/` entries as they are named."""

    def __init__(self, f, archive, root):
        super().__init__(f)
        self.archive, self.root, self.storages = archive, root, {}

    def find_class(self, module, name):
        if module == "torch" and name in STORAGES:
            return StorageType(name)
        if (module, name) in SAFE_GLOBALS:
            return SAFE_GLOBALS[(module, name)]
        if module == "__torch__" or module.startswith("__torch__."):
            return Module
        raise pickle.UnpicklingError(f"refusing global {module}.{name}")

    def persistent_load(self, pid):
        if pid[0] != "storage":
            raise pickle.UnpicklingError(f"unknown persistent id {pid[0]!r}")
        stype, key, _location, numel = pid[1:5]
        if key not in self.storages:
            data = self.archive.read(f"{self.root}/data/{key}")
            if len(data) != numel * stype.itemsize:
                raise pickle.UnpicklingError(f"storage {key} holds {len(data)} bytes, {numel} elements expected")
            self.storages[key] = Storage(stype, data)
        return self.storages[key]


def contiguous_bytes(t):
    """The tensor's elements in row-major order as little-endian bytes."""
    s, size = t.storage, t.storage.stype.itemsize
    n = 1
    for d in t.size:
        n *= d
    expected, acc = [], 1
    for d in reversed(t.size):
        expected.insert(0, acc)
        acc *= d
    if all(st == ex or d == 1 for st, ex, d in zip(t.stride, expected, t.size)):
        data = s.data[t.offset * size:(t.offset + n) * size]
        if len(data) != n * size:
            raise SystemExit(f"a tensor of shape {t.size} runs past its storage")
        return data
    out = bytearray(n * size)
    index = [0] * len(t.size)
    for i in range(n):
        src = t.offset + sum(a * b for a, b in zip(index, t.stride))
        out[i * size:(i + 1) * size] = s.data[src * size:(src + 1) * size]
        for axis in reversed(range(len(index))):
            index[axis] += 1
            if index[axis] < t.size[axis]:
                break
            index[axis] = 0
    return bytes(out)


def flatten(obj, prefix=""):
    """Dotted path -> Tensor for every tensor among the modules' attributes."""
    out = collections.OrderedDict()
    if isinstance(obj, Tensor):
        out[prefix] = obj
    elif isinstance(obj, Module):
        for k, v in obj.__dict__.get("attributes", {}).items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def load(path):
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise SystemExit(f"{path}: not a TorchScript archive (not a zip file)")
    roots = [n[:-len("/data.pkl")] for n in archive.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
    if len(roots) != 1:
        raise SystemExit(f"{path}: not a TorchScript archive (no single NAME/data.pkl)")
    byteorder = f"{roots[0]}/byteorder"  # absent in archives older than PyTorch 1.x's, which were little-endian
    if byteorder in archive.namelist() and archive.read(byteorder).strip() != b"little":
        raise SystemExit(f"{path}: big-endian archives are not supported")
    with archive.open(f"{roots[0]}/data.pkl") as f:
        return flatten(ArchiveUnpickler(f, archive, roots[0]).load())


def save(tensors, path):
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors.items():
        data = contiguous_bytes(t)
        header[name] = {"dtype": t.storage.stype.dtype, "shape": list(t.size),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def main():
    if len(sys.argv) not in (3, 4):
        raise SystemExit("usage: convert-torchscript.py IN.jit OUT.safetensors [PREFIX]")
    tensors = load(sys.argv[1])
    if len(sys.argv) == 4:
        prefix = sys.argv[3]
        tensors = collections.OrderedDict((k[len(prefix):], v) for k, v in tensors.items() if k.startswith(prefix))
    if not tensors:
        raise SystemExit(f"{sys.argv[1]}: no tensors" + (f" under {sys.argv[3]!r}" if len(sys.argv) == 4 else ""))
    save(tensors, sys.argv[2])
    print(f"convert-torchscript: {len(tensors)} tensors -> {sys.argv[2]}", file=sys.stderr)


if __name__ == "__main__":
    main()
