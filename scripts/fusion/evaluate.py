#!/usr/bin/env python3
"""What the trained connector taught SmolLM2 to see, on held-out scenes never used in training
(scripts/make-scenes 500 out/fusion/heldout --max-objects 4 --seed 20261206; training used seed 1234).

    scripts/fusion/evaluate.py pytorch WEIGHTS DATA OUT.jsonl [--limit N]   greedy answers through PyTorch (fp32 LLM)
    scripts/fusion/evaluate.py score DATA NAME=ANSWERS.jsonl... [--train TRAIN_DATA] [--json OUT]
    scripts/fusion/evaluate.py closed-loop DATA ANSWERS.jsonl OUT_DIR       renders the answers with each scene's camera

NAME=FILE@N scores the first N scenes only (a run with a limit). Answers files: one JSON object per line, {"item": ".../scene-00012.png", "value": {objects...}} (what
`pipeline run ... sink.jsonl` writes) or {"item": ..., "text": "raw output"} (PyTorch, parsed here;
an answer that does not parse counts as zero objects). Metrics per scene set:
  count      the number of objects is right
  shape      per true object: matched (by position, closest-first assignment over all pairings)
             to an answered object of the same shape; unmatched true objects count as wrong
  color      the same for colour
  position   mean distance in metres (x, z) between matched objects and the true (unrounded) positions
"most-frequent" is a baseline computed here: the training set's most frequent object count, every
object the most frequent shape and colour, at the most frequent cells.
"""
import argparse, collections, itertools, json, math, os, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def scene_index(item):
    """scene-00012.png -> 12 (any other item, such as the blind run's n0, is 0)."""
    try:
        return int(os.path.basename(item).split("-")[1].split(".")[0])
    except (IndexError, ValueError):
        return 0


def load_answers(path):
    out = {}
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            value = r.get("value")
            if value is None and "text" in r:
                try:
                    value = json.loads(r["text"])
                except Exception:
                    value = None
            objects = value.get("objects") if isinstance(value, dict) else None
            out[scene_index(r["item"])] = objects if isinstance(objects, list) else []
    return out


def match(true, pred):
    """Pairs (t, p) of true and predicted objects minimising the summed distance over the
    larger-of-both assignments (at most 4 objects: brute force)."""
    def pos(o):
        p = o.get("position") or [0, 0, 0]
        return (float(p[0]), float(p[2])) if len(p) == 3 else (0.0, 0.0)
    best, pairs = math.inf, []
    if not true or not pred:
        return []
    if len(pred) >= len(true):
        for perm in itertools.permutations(range(len(pred)), len(true)):
            cost = sum(math.dist(pos(true[i]), pos(pred[j])) for i, j in enumerate(perm))
            if cost < best:
                best, pairs = cost, [(true[i], pred[j]) for i, j in enumerate(perm)]
    else:
        for perm in itertools.permutations(range(len(true)), len(pred)):
            cost = sum(math.dist(pos(true[i]), pos(pred[j])) for j, i in enumerate(perm))
            if cost < best:
                best, pairs = cost, [(true[i], pred[j]) for j, i in enumerate(perm)]
    return pairs


def score(records, answers, scenes=None):
    """Metrics over the first `scenes` records (all by default); a scene without an answer (a
    failed item) counts as an answer of no objects."""
    n = count_ok = objects = shape_ok = color_ok = 0
    dists = []
    for k, rec in enumerate(records[:scenes or len(records)]):
        true, pred = rec["objects"], answers.get(k, [])
        n += 1
        count_ok += len(pred) == len(true)
        objects += len(true)
        for t, p in match(true, pred):
            shape_ok += p.get("shape") == t["shape"]
            color_ok += p.get("color") == t["color"]
            pp = p.get("position") or [0, 0, 0]
            if len(pp) == 3:
                dists.append(math.dist((float(pp[0]), float(pp[2])), (t["position"][0], t["position"][2])))
    return {"scenes": n, "count": count_ok / max(n, 1), "shape": shape_ok / max(objects, 1),
            "color": color_ok / max(objects, 1), "position_m": sum(dists) / max(len(dists), 1)}


def most_frequent(train_records):
    from fusion_common import target_objects
    counts = collections.Counter(len(r["objects"]) for r in train_records)
    shapes = collections.Counter(o["shape"] for r in train_records for o in r["objects"])
    colors = collections.Counter(o["color"] for r in train_records for o in r["objects"])
    cells = collections.Counter(tuple(o["position"]) for r in train_records for o in target_objects(r))
    n = counts.most_common(1)[0][0]
    return [{"shape": shapes.most_common(1)[0][0], "color": colors.most_common(1)[0][0], "position": list(c)}
            for c, _ in cells.most_common(n)]


def cmd_score(args):
    from fusion_common import read_records
    records = read_records(args.data)
    rows = []
    if args.train:
        answer = most_frequent(read_records(args.train))
        rows.append(("most-frequent", score(records, {k: answer for k in range(len(records))})))
    for spec in args.answers:
        name, path = spec.split("=", 1)
        path, _, limit = path.partition("@")  # NAME=FILE@N: the first N scenes were asked
        answers = load_answers(path)
        if args.broadcast:
            # One answer for every scene (the blind LLM: no image, the same prompt, the same answer).
            only = next(iter(answers.values()))
            answers = {k: only for k in range(len(records))}
        rows.append((name, score(records, answers, int(limit) if limit else None)))
    print(f"| run | scenes | count | shape | colour | position error (m) |")
    print(f"| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, m in rows:
        print(f"| {name} | {m['scenes']} | {100 * m['count']:.1f}% | {100 * m['shape']:.1f}% | {100 * m['color']:.1f}% | {m['position_m']:.2f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(rows), f, indent=1)


def cmd_pytorch(args):
    import numpy as np
    import torch
    from fusion_common import Llama, feature_file, layout, load_connector, load_safetensors, read_records
    torch.set_num_threads(2)
    tensors, meta = load_safetensors(args.weights)
    conn = load_connector(tensors, meta)
    llm = Llama()
    head, tail, end = layout(llm.tokenizer)
    kind = meta.get("tokens", "head")  # which EfficientNet map the connector was trained on
    features = np.load(os.path.join(args.data, feature_file(kind)), mmap_mode="r")
    n = len(features) if not args.limit else min(args.limit, len(features))
    with open(args.out, "w") as out, torch.no_grad():
        for start in range(0, n, args.batch):
            idx = list(range(start, min(n, start + args.batch)))
            prefix = conn(torch.from_numpy(np.asarray(features[idx], dtype=np.float32)))
            B = len(idx)
            x = torch.cat([llm.embed_tokens(torch.tensor(head)).expand(B, -1, -1), prefix,
                           llm.embed_tokens(torch.tensor(tail)).expand(B, -1, -1)], dim=1)
            cache = []
            h = llm.forward_cached(x, cache)
            tokens = [[] for _ in idx]
            done = [False] * B
            for _ in range(args.max_tokens):
                nxt = llm.logits(h[:, -1]).argmax(-1)
                for b in range(B):
                    if not done[b]:
                        if nxt[b].item() == end:
                            done[b] = True
                        else:
                            tokens[b].append(nxt[b].item())
                if all(done):
                    break
                h = llm.forward_cached(llm.embed_tokens(nxt[:, None]), cache)
            for b, i in enumerate(idx):
                out.write(json.dumps({"item": f"scene-{i:05d}.png", "text": llm.tokenizer.decode(tokens[b])}) + "\n")
            out.flush()
            print(f"pytorch: {idx[-1] + 1}/{n}", file=sys.stderr, flush=True)


def render_records(records_dir, out):
    """Renders a folder of scene records through pipelines/render-scenes.yaml into OUT/renders."""
    root = os.path.normpath(os.path.join(HERE, "../.."))
    binary = os.environ.get("PIPELINE") or next(p for p in [os.path.join(root, ".build/release/pipeline"), os.path.join(root, ".build/debug/pipeline")] if os.path.exists(p))
    subprocess.run([binary, "run", os.path.join(root, "pipelines/render-scenes.yaml"), "--set", f"scenes={records_dir}",
                    "--set", f"out={out}", "--set", "width=224", "--set", "height=224", "--set", "viewer=false"],
                   check=True, stdout=subprocess.DEVNULL)


def cmd_closed_loop(args):
    """Renders each answered scene with the held-out scene's camera and background, then compares
    the two renders pixel by pixel (a pixel agrees when every channel is within `--tolerance` of
    255), per scene, reported as distributions:
      whole image   the share of all pixels that agree (the ground and sky fill most of a render
                    and are drawn alike on both sides, so this is high even for wrong objects);
      object pixels the share that agree among the pixels where either render shows an object,
                    found against a third render of the same camera and background with no
                    objects (a pixel is an object's when it differs from that empty render)."""
    import numpy as np
    from fusion_common import read_records
    records = read_records(args.data)
    answers = load_answers(args.answers)
    rec_dir, empty_dir = os.path.join(args.out, "records"), os.path.join(args.out, "empty-records")
    os.makedirs(rec_dir, exist_ok=True)
    os.makedirs(empty_dir, exist_ok=True)
    for k, objects in answers.items():
        r = records[k]
        scene = {"objects": [{"shape": o["shape"], "color": o["color"], "position": o["position"]} for o in objects],
                 "camera": r["camera"], "background": r["background"]}
        with open(os.path.join(rec_dir, f"scene-{k:05d}.json"), "w") as f:
            json.dump(scene, f)
        with open(os.path.join(empty_dir, f"scene-{k:05d}.json"), "w") as f:
            json.dump(dict(scene, objects=[]), f)
    render_records(rec_dir, args.out)
    render_records(empty_dir, os.path.join(args.out, "empty"))
    whole, objects_agree = [], []
    for k in sorted(answers):
        a = rgb(os.path.join(args.data, "renders", f"scene-{k:05d}.png")).astype(int)
        b = rgb(os.path.join(args.out, "renders", f"scene-{k:05d}.png")).astype(int)
        e = rgb(os.path.join(args.out, "empty", "renders", f"scene-{k:05d}.png")).astype(int)
        same = np.abs(a - b).max(axis=2) <= args.tolerance
        shown = (np.abs(a - e).max(axis=2) > args.tolerance) | (np.abs(b - e).max(axis=2) > args.tolerance)
        whole.append(float(same.mean()))
        objects_agree.append(float(same[shown].mean()) if shown.any() else 1.0)

    def dist(values):
        v = np.array(values)
        q = np.percentile(v, [0, 10, 25, 50, 75, 90, 100])
        return {"mean": float(v.mean()), "percentiles": dict(zip(["min", "p10", "p25", "median", "p75", "p90", "max"], map(float, q)))}
    result = {"scenes": len(whole), "tolerance": args.tolerance, "whole_image": dist(whole), "object_pixels": dist(objects_agree),
              "per_scene": {f"scene-{k:05d}": round(float(a), 4) for k, a in zip(sorted(answers), objects_agree)}}
    print(json.dumps({k: v for k, v in result.items() if k != "per_scene"}, indent=1))
    with open(os.path.join(args.out, "closed-loop.json"), "w") as f:
        json.dump(result, f, indent=1)


def rgb(path):
    import numpy as np
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(224, 224, 3)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pytorch")
    p.add_argument("weights"); p.add_argument("data"); p.add_argument("out")
    p.add_argument("--limit", type=int, default=0); p.add_argument("--batch", type=int, default=50)
    p.add_argument("--max-tokens", type=int, default=120)
    s = sub.add_parser("score")
    s.add_argument("data"); s.add_argument("answers", nargs="*"); s.add_argument("--train"); s.add_argument("--json")
    s.add_argument("--broadcast", action="store_true")
    c = sub.add_parser("closed-loop")
    c.add_argument("data"); c.add_argument("answers"); c.add_argument("out"); c.add_argument("--tolerance", type=int, default=24)
    args = ap.parse_args()
    {"pytorch": cmd_pytorch, "score": cmd_score, "closed-loop": cmd_closed_loop}[args.cmd](args)


if __name__ == "__main__":
    main()
