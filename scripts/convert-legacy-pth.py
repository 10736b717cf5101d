#!/usr/bin/env python3
"""Converts a legacy (non-zip) PyTorch checkpoint to safetensors with the standard library only.

    convert-legacy-pth.py IN.pth OUT.safetensors

The legacy format `torch.save` wrote before 1.6 is a run of pickles followed by raw
storage bytes: a magic number, the protocol version, system info, the object itself
(tensors pickled as `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …)`
whose storages are persistent ids `('storage', torch.FloatStorage, key, location,
numel, view)`), then the list of storage keys, then per key an 8-byte little-endian
element count and the elements. A state dict (possibly nested under `state_dict`) is
flattened to `name -> tensor`; strided tensors are gathered into contiguous order.
Only the pickle classes listed in `SAFE_GLOBALS` may be loaded.
"""
import collections
import json
import pickle
import struct
import sys

MAGIC = 0x1950A86A20F9469CFC6C

# Storage class name -> (safetensors dtype, element size, struct code).
STORAGES = {
    "FloatStorage": ("F32", 4, "f"),
    "DoubleStorage": ("F64", 8, "d"),
    "HalfStorage": ("F16", 2, "e"),
    "LongStorage": ("I64", 8, "q"),
    "IntStorage": ("I32", 4, "i"),
    "ShortStorage": ("I16", 2, "h"),
    "CharStorage": ("I8", 1, "b"),
    "ByteStorage": ("U8", 1, "B"),
    "BoolStorage": ("BOOL", 1, "?"),
}


class StorageType:
    """Stands in for `torch.FloatStorage` and its siblings."""

    def __init__(self, name):
        self.name = name
        self.dtype, self.itemsize, self.code = STORAGES[name]


class Storage:
    """A storage whose bytes are read after the object pickle."""

    def __init__(self, stype, key, numel):
        self.stype, self.key, self.numel = stype, key, numel
        self.data = None


class Tensor:
    """A view into a storage: offset, shape and strides in elements."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset = storage, offset
        self.size, self.stride = tuple(size), tuple(stride)


def rebuild_tensor(storage, storage_offset, size, stride, *rest):
    return Tensor(storage, storage_offset, size, stride)


def rebuild_parameter(data, requires_grad, backward_hooks, *rest):
    return data


SAFE_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): rebuild_parameter,
}


class LegacyUnpickler(pickle.Unpickler):
    """Resolves only tensor-rebuilding globals; storages become `Storage` placeholders."""

    def __init__(self, f, storages):
        super().__init__(f)
        self.storages = storages

    def find_class(self, module, name):
        if module == "torch" and name in STORAGES:
            return StorageType(name)
        if (module, name) in SAFE_GLOBALS:
            return SAFE_GLOBALS[(module, name)]
        raise pickle.UnpicklingError(f"refusing global {module}.{name}")

    def persistent_load(self, pid):
        if pid[0] == "module":
            return None
        if pid[0] != "storage":
            raise pickle.UnpicklingError(f"unknown persistent id {pid[0]!r}")
        stype, key, _location, numel, view = pid[1:6]
        if view is not None:
            raise pickle.UnpicklingError("storage views are not supported")
        if key not in self.storages:
            self.storages[key] = Storage(stype, key, numel)
        return self.storages[key]


def contiguous_bytes(t):
    """The tensor's elements in row-major order as little-endian bytes."""
    s = t.storage
    n = 1
    for d in t.size:
        n *= d
    expected, acc = [], 1
    for d in reversed(t.size):
        expected.insert(0, acc)
        acc *= d
    size = s.stype.itemsize
    if all(st == ex or d == 1 for st, ex, d in zip(t.stride, expected, t.size)):
        return s.data[t.offset * size:(t.offset + n) * size]
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
    """Name -> Tensor for every tensor in nested dicts."""
    out = collections.OrderedDict()
    if isinstance(obj, Tensor):
        out[prefix] = obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def load(path):
    with open(path, "rb") as f:
        if pickle.load(f) != MAGIC:
            raise SystemExit(f"{path}: not a legacy PyTorch file (bad magic number)")
        pickle.load(f)  # protocol version
        info = pickle.load(f)
        if not info.get("little_endian", True):
            raise SystemExit(f"{path}: big-endian checkpoints are not supported")
        storages = {}
        obj = LegacyUnpickler(f, storages).load()
        for key in pickle.load(f):
            s = storages[key]
            (count,) = struct.unpack("<q", f.read(8))
            if count != s.numel:
                raise SystemExit(f"{path}: storage {key} holds {count} elements, pickle said {s.numel}")
            s.data = f.read(count * s.stype.itemsize)
            if len(s.data) != count * s.stype.itemsize:
                raise SystemExit(f"{path}: storage {key} is cut off")
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    return flatten(obj)


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
    if len(sys.argv) != 3:
        raise SystemExit("usage: convert-legacy-pth.py IN.pth OUT.safetensors")
    tensors = load(sys.argv[1])
    save(tensors, sys.argv[2])
    print(f"convert-legacy-pth: {len(tensors)} tensors -> {sys.argv[2]}", file=sys.stderr)


if __name__ == "__main__":
    main()
