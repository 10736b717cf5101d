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
may be loaded. Strided tensors are gathered into contiguous order. The parts shared with
convert-legacy-pth.py are in torch_pickle.py, which must sit beside this script.
"""
import collections
import os
import pickle
import sys
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_pickle  # noqa: E402 (in this script's folder)


class Module:
    """Stands in for every `__torch__.…` class: keeps the attribute dict it is built from."""

    def __setstate__(self, state):
        self.__dict__["attributes"] = state if isinstance(state, dict) else {}


def build_list(items):
    return list(items)


SAFE_GLOBALS = {
    **torch_pickle.SAFE_GLOBALS,
    ("torch.jit._pickle", "build_intlist"): build_list,
    ("torch.jit._pickle", "build_doublelist"): build_list,
    ("torch.jit._pickle", "build_boollist"): build_list,
    ("torch.jit._pickle", "build_tensorlist"): build_list,
    ("torch.jit._pickle", "restore_type_tag"): lambda value, tag: value,
}


class ArchiveUnpickler(torch_pickle.RestrictedUnpickler):
    """Resolves only the globals above and `__torch__` module classes; storages are read
    from the archive's `data/` entries as they are named."""

    safe_globals = SAFE_GLOBALS

    def __init__(self, f, archive, root):
        super().__init__(f)
        self.archive, self.root = archive, root

    def find_class(self, module, name):
        if module == "__torch__" or module.startswith("__torch__."):
            return Module
        return super().find_class(module, name)

    def open_storage(self, stype, key, numel, extra):
        try:
            data = self.archive.read(f"{self.root}/data/{key}")
        except KeyError:
            raise pickle.UnpicklingError(f"storage {key} has no entry {self.root}/data/{key}")
        if len(data) != numel * stype.itemsize:
            raise pickle.UnpicklingError(f"storage {key} holds {len(data)} bytes, {numel} elements expected")
        return torch_pickle.Storage(stype, numel, data)


def module_attributes(obj):
    """The tensors of a TorchScript archive sit among its modules' attributes."""
    return obj.__dict__.get("attributes", {}).items() if isinstance(obj, Module) else ()


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
        try:
            tree = ArchiveUnpickler(f, archive, roots[0]).load()
        except (pickle.UnpicklingError, EOFError, ValueError) as e:
            raise SystemExit(f"{path}: not a readable TorchScript archive ({e})")
    return torch_pickle.flatten(tree, module_attributes)


def main():
    if len(sys.argv) not in (3, 4):
        raise SystemExit("usage: convert-torchscript.py IN.jit OUT.safetensors [PREFIX]")
    tensors = load(sys.argv[1])
    if len(sys.argv) == 4:
        prefix = sys.argv[3]
        tensors = collections.OrderedDict((k[len(prefix):], v) for k, v in tensors.items() if k.startswith(prefix))
    if not tensors:
        raise SystemExit(f"{sys.argv[1]}: no tensors" + (f" under {sys.argv[3]!r}" if len(sys.argv) == 4 else ""))
    torch_pickle.save_safetensors(tensors, sys.argv[2])
    print(f"convert-torchscript: {len(tensors)} tensors -> {sys.argv[2]}", file=sys.stderr)


if __name__ == "__main__":
    main()
