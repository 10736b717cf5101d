"""What the standard-library-only PyTorch converters share: stand-ins for the classes a
PyTorch pickle names, a restricted unpickler, and a safetensors writer.

Used by `convert-legacy-pth.py` (pre-1.6 `torch.save` files) and `convert-torchscript.py`
(`torch.jit.save` archives), which import it from their own folder. Both formats pickle
a tensor as `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …)` whose
storage is a persistent id `('storage', torch.FloatStorage, key, location, numel, …)`;
they differ in where a storage's bytes lie and in how tensors sit in the pickled object,
which each converter supplies.
"""
import collections
import json
import pickle
import struct

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
        self.name = name
        self.dtype, self.itemsize = STORAGES[name]


class Storage:
    """`numel` elements of one type; `data` holds their little-endian bytes once read."""

    def __init__(self, stype, numel, data=None):
        self.stype, self.numel, self.data = stype, numel, data


class Tensor:
    """A view into a storage: offset, shape and strides in elements."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset = storage, offset
        self.size, self.stride = tuple(size), tuple(stride)


def rebuild_tensor(storage, storage_offset, size, stride, *rest):
    return Tensor(storage, storage_offset, size, stride)


def rebuild_parameter(data, requires_grad, backward_hooks, *rest):
    return data


# The globals both formats may name; each converter adds its own.
SAFE_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): rebuild_parameter,
}


class RestrictedUnpickler(pickle.Unpickler):
    """Loads only the storage classes and the globals in `safe_globals`; nothing is run.

    Storage persistent ids are resolved once per key through `open_storage`, which a
    subclass defines (the bytes live outside the pickle, in a format-specific place); used
    as it is, it reads plain data pickles.
    """

    safe_globals = SAFE_GLOBALS

    def __init__(self, f):
        super().__init__(f)
        self.storages = {}

    def find_class(self, module, name):
        if module == "torch" and name in STORAGES:
            return StorageType(name)
        if (module, name) in self.safe_globals:
            return self.safe_globals[(module, name)]
        raise pickle.UnpicklingError(f"refusing global {module}.{name}")

    def persistent_load(self, pid):
        if pid[0] != "storage":
            raise pickle.UnpicklingError(f"unknown persistent id {pid[0]!r}")
        stype, key, _location, numel = pid[1:5]
        if key not in self.storages:
            self.storages[key] = self.open_storage(stype, key, numel, pid[5:])
        return self.storages[key]

    def open_storage(self, stype, key, numel, extra):
        """The `Storage` for persistent id `key`; `extra` is what the id holds past `numel`.
        A subclass says where the bytes are; here, where none are expected, it is an error."""
        raise pickle.UnpicklingError(f"unexpected storage {key} in a pickle that holds no tensors")


def contiguous_bytes(t):
    """The tensor's elements in row-major order as little-endian bytes; a `ValueError` when
    the view reaches outside its storage."""
    s, size = t.storage, t.storage.stype.itemsize
    n = 1
    for d in t.size:
        n *= d
    if n == 0:
        return b""
    last = t.offset + sum((d - 1) * st for d, st in zip(t.size, t.stride))
    if t.offset < 0 or min(t.stride, default=0) < 0 or (last + 1) * size > len(s.data):
        raise ValueError(f"shape {t.size} with strides {t.stride} at offset {t.offset} runs past its storage")
    expected, acc = [], 1
    for d in reversed(t.size):
        expected.insert(0, acc)
        acc *= d
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


def flatten(obj, children, prefix=""):
    """Dotted path -> Tensor for every tensor reachable from `obj`; `children(obj)` gives
    the `(name, value)` pairs to descend into, or nothing for a leaf."""
    out = collections.OrderedDict()
    if isinstance(obj, Tensor):
        out[prefix] = obj
    else:
        for k, v in children(obj):
            out.update(flatten(v, children, f"{prefix}.{k}" if prefix else str(k)))
    return out


def save_safetensors(tensors, path):
    """Writes `name -> Tensor` as a safetensors file, in the mapping's order."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors.items():
        try:
            data = contiguous_bytes(t)
        except ValueError as e:
            raise SystemExit(f"tensor {name}: {e}")
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
