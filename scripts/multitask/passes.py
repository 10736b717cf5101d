#!/usr/bin/env python3
"""The class-mask and depth passes of scripts/multitask/make-data.

    passes.py write OUT          OUT/threejs/*.json -> OUT/passes/{classes,depth}/*.json
    passes.py pack OUT HELD SEED the renders -> OUT/multitask.npz (see make-data)

Needs only python3 with numpy, and ffmpeg (PNG decoding, one process per folder).
"""
import json, os, subprocess, sys

import numpy as np

SHAPES = ["cube", "sphere", "cylinder", "cone"]
# Class colours of the mask pass (class 0, the background and ground, is black).
CLASS_RGB = [(0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
NEAR, FAR, CLIP = 1.0, 60.0, 30.0
# The depth pass: a ShaderMaterial writing the view-space depth (metres along the camera's axis)
# as a 16-bit fraction of CLIP in red (high byte) and green (low byte). three.js r111's
# MeshDepthMaterial would give 8 bits of the non-linear window depth (its RGBA packing is not
# read by the ObjectLoader), too coarse for metres.
DEPTH_VERTEX = """varying float vDepth;
void main() {
  vec4 mv = modelViewMatrix * vec4(position, 1.0);
  vDepth = -mv.z;
  gl_Position = projectionMatrix * mv;
}"""
DEPTH_FRAGMENT = """uniform float far;
varying float vDepth;
void main() {
  float v = floor(clamp(vDepth / far, 0.0, 1.0) * 65535.0 + 0.5);
  float hi = floor(v / 256.0);
  gl_FragColor = vec4(hi / 255.0, (v - hi * 256.0) / 255.0, 0.0, 1.0);
}"""
SIZE = 128


def walk(obj):
    yield obj
    for child in obj.get("children", []):
        yield from walk(child)


def variant(doc, kind):
    """A copy of a three.js JSON scene drawn as class colours or packed depth."""
    doc = json.loads(json.dumps(doc))
    materials = []

    def material(fields):
        fields = dict(fields, uuid=f"multitask-{kind}-{len(materials)}")
        materials.append(fields)
        return fields["uuid"]

    depth = material({"type": "ShaderMaterial", "uniforms": {"far": {"value": CLIP}},
                      "vertexShader": DEPTH_VERTEX, "fragmentShader": DEPTH_FRAGMENT}) if kind == "depth" else None
    basic = [material({"type": "MeshBasicMaterial", "color": r << 16 | g << 8 | b}) for (r, g, b) in CLASS_RGB] \
        if kind == "classes" else None
    scene = doc["object"]
    scene["children"] = [c for c in scene["children"] if c.get("name") != "grid"]
    for o in walk(scene):
        if o.get("type") == "PerspectiveCamera" and kind == "depth":
            o["near"], o["far"] = NEAR, FAR
        if o.get("type") != "Mesh":
            continue
        data = o.get("userData", {})
        if data.get("kind") not in (None, "object"):
            raise SystemExit(f"passes: unexpected {data.get('kind')} mesh (only shapes and the ground are expected)")
        if kind == "depth":
            o["material"] = depth
        else:
            o["material"] = basic[SHAPES.index(data["shape"]) + 1] if data.get("kind") == "object" else basic[0]
    doc["materials"] = materials
    scene["background"] = 0xFFFFFF if kind == "depth" else 0
    return doc


def write(out):
    names = sorted(n for n in os.listdir(os.path.join(out, "threejs")) if n.endswith(".json"))
    for kind in ["classes", "depth"]:
        os.makedirs(os.path.join(out, "passes", kind), exist_ok=True)
        for name in names:
            with open(os.path.join(out, "threejs", name)) as f:
                doc = json.load(f)
            with open(os.path.join(out, "passes", kind, name), "w") as f:
                json.dump(variant(doc, kind), f)
    print(f"passes: {len(names)} scenes -> {out}/passes/{{classes,depth}}")


def decode(folder, count, pix_fmt, channels):
    """Every scene-%05d.png of a folder as uint8 [count, SIZE, SIZE, channels] (one ffmpeg process)."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-f", "image2", "-i", os.path.join(folder, "scene-%05d.png"),
                          "-frames:v", str(count), "-f", "rawvideo", "-pix_fmt", pix_fmt, "-"],
                         check=True, capture_output=True).stdout
    assert len(raw) == count * SIZE * SIZE * channels, (folder, len(raw))
    return np.frombuffer(raw, dtype=np.uint8).reshape(count, SIZE, SIZE, channels)


def unpack_depth(rgb):
    """The depth pass's 16 bits (red high, green low) -> metres; the white sky -> CLIP."""
    b = rgb.astype(np.float64)
    metres = (b[..., 0] * 256 + b[..., 1]) / 65535 * CLIP
    return np.minimum(metres, CLIP).astype(np.float32)


def pack(out, held, seed):
    with open(os.path.join(out, "records.jsonl")) as f:
        records = [json.loads(line) for line in f]
    n = len(records)
    image = decode(os.path.join(out, "renders"), n, "rgb24", 3)
    colours = decode(os.path.join(out, "classes"), n, "rgb24", 3).astype(np.int32)
    classes = np.full(colours.shape[:3], 255, dtype=np.uint8)
    for k, rgb in enumerate(CLASS_RGB):
        classes[(colours == np.array(rgb)).all(axis=-1)] = k
    stray = int((classes == 255).sum())
    assert stray == 0, f"{stray} mask pixels are no class colour (antialiasing or lighting on?)"
    depth = unpack_depth(decode(os.path.join(out, "depth"), n, "rgb24", 3))
    count = np.array([len(r["objects"]) for r in records], dtype=np.int64)
    split = np.zeros(n, dtype=np.int64)
    split[n - held:] = 1
    np.savez_compressed(os.path.join(out, "multitask.npz"), image=image, classes=classes, depth=depth, count=count,
                        split=split, seed=np.int64(seed))
    share = np.bincount(classes.reshape(-1), minlength=5) / classes.size
    print(f"pack: {n} scenes ({n - held} train, {held} held out); class shares {np.round(share, 3).tolist()}; "
          f"depth {depth.min():.2f}-{depth.max():.2f} m (median {np.median(depth):.2f}); counts {np.bincount(count).tolist()}")


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2])
    elif sys.argv[1] == "pack":
        pack(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        raise SystemExit("usage: passes.py write OUT | pack OUT HELD SEED")
