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
Only the pickle classes listed in `SAFE_GLOBALS` may be loaded (none in the framing
pickles). The parts shared with
convert-torchscript.py are in torch_pickle.py, which must sit beside this script.
"""
import os
import pickle
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_pickle  # noqa: E402 (in this script's folder)

MAGIC = 0x1950A86A20F9469CFC6C

SAFE_GLOBALS = {
    **torch_pickle.SAFE_GLOBALS,
    ("torch._utils", "_rebuild_tensor"): torch_pickle.rebuild_tensor,
}


class LegacyUnpickler(torch_pickle.RestrictedUnpickler):
    """Resolves only tensor-rebuilding globals; storages are placeholders whose bytes are
    read after the object pickle."""

    safe_globals = SAFE_GLOBALS

    def persistent_load(self, pid):
        if pid[0] == "module":
            return None
        return super().persistent_load(pid)

    def open_storage(self, stype, key, numel, extra):
        view = extra[0] if extra else None
        if view is not None:
            raise pickle.UnpicklingError("storage views are not supported")
        return torch_pickle.Storage(stype, numel)


def dict_items(obj):
    """The tensors of a checkpoint sit in (nested) dicts."""
    return obj.items() if isinstance(obj, dict) else ()


def load(path):
    with open(path, "rb") as f:
        try:
            return read_checkpoint(f, path)
        except (pickle.UnpicklingError, EOFError, ValueError, struct.error) as e:
            raise SystemExit(f"{path}: not a readable legacy PyTorch file ({e})")


def read_checkpoint(f, path):
    # The framing pickles hold only numbers, strings, dicts and lists: no globals are allowed.
    if torch_pickle.RestrictedUnpickler(f).load() != MAGIC:
        raise SystemExit(f"{path}: not a legacy PyTorch file (bad magic number)")
    torch_pickle.RestrictedUnpickler(f).load()  # protocol version
    info = torch_pickle.RestrictedUnpickler(f).load()
    if not isinstance(info, dict) or not info.get("little_endian", True):
        raise SystemExit(f"{path}: big-endian checkpoints are not supported")
    unpickler = LegacyUnpickler(f)
    obj = unpickler.load()
    storages = unpickler.storages
    for key in torch_pickle.RestrictedUnpickler(f).load():
        s = storages.get(key)
        if s is None:
            raise SystemExit(f"{path}: storage {key} is listed but no tensor uses it")
        (count,) = struct.unpack("<q", f.read(8))
        if count != s.numel:
            raise SystemExit(f"{path}: storage {key} holds {count} elements, pickle said {s.numel}")
        s.data = f.read(count * s.stype.itemsize)
        if len(s.data) != count * s.stype.itemsize:
            raise SystemExit(f"{path}: storage {key} is cut off")
    missing = [key for key, s in storages.items() if s.data is None]
    if missing:
        raise SystemExit(f"{path}: no bytes follow for storage(s) {', '.join(map(str, missing))}")
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    return torch_pickle.flatten(obj, dict_items)


def main():
    if len(sys.argv) != 3:
        raise SystemExit("usage: convert-legacy-pth.py IN.pth OUT.safetensors")
    tensors = load(sys.argv[1])
    torch_pickle.save_safetensors(tensors, sys.argv[2])
    print(f"convert-legacy-pth: {len(tensors)} tensors -> {sys.argv[2]}", file=sys.stderr)


if __name__ == "__main__":
    main()
