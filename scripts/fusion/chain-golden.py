#!/usr/bin/env python3
"""The trained chain's first-step logits in PyTorch, for the engine's comparison test
(Tests/PipelineNodesTests/FusionChainTests.swift): image -> EfficientNet-Lite0 tokens (the
reference model on the original .pth, float32) -> a shipped connector -> SmolLM2 dequantized
to float32 -> the logits for the first answer token, with the chat layout of llm.generate
(system "You describe images.", the prefix where the user turn begins).

    /root/venvs/fusion/bin/python scripts/fusion/chain-golden.py [projector|resampler]

Writes Tests/PipelineModelsTests/Golden/fusion/chain.json (the projector,
pipelines/models/scene-projector.safetensors) or chain-resampler.json (the resampler,
pipelines/models/scene-resampler.safetensors): per sample render, the 32 largest
logits (id, value), the argmax, and the first 8 values of the first prefix vector. Our engine
runs the Q4_1 file (weights quantized, activations quantized to 8 bits in the dot products, as
llama.cpp does), so the logits cannot be equal: the test reports the difference.
"""
import importlib.util, json, os, sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "../.."))
sys.path.insert(0, HERE)
from fusion_common import Llama, layout, load_connector, load_safetensors  # noqa: E402

spec = importlib.util.spec_from_file_location("make_features", os.path.join(HERE, "make-features.py"))
mf = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mf)

SAMPLES = ["scene-00001.png", "scene-00002.png", "scene-00003.png", "scene-00004.png"]


def main():
    torch.set_num_threads(2)
    connector = sys.argv[1] if len(sys.argv) > 1 else "projector"
    assert connector in ("projector", "resampler"), connector
    weights = f"pipelines/models/scene-{connector}.safetensors"
    tensors, meta = load_safetensors(os.path.join(ROOT, weights))
    conn = load_connector(tensors, meta)
    kind = meta.get("tokens", "head")  # the EfficientNet map the projector reads (encoder.image `tokens:`)
    encoder = mf.load_encoder()
    llm = Llama()
    head, tail, end = layout(llm.tokenizer)
    cases = []
    with torch.no_grad():
        for name in SAMPLES:
            path = os.path.join(ROOT, "pipelines/samples/scenes-rendered", name)
            tokens = mf.tokens(encoder, mf.to_tensor(mf.rgb_bytes(path)).unsqueeze(0), kind)
            prefix = conn(tokens)
            x = torch.cat([llm.embed_tokens(torch.tensor([head])), prefix, llm.embed_tokens(torch.tensor([tail]))], dim=1)
            logits = llm.logits(llm(x))[0, -1]
            top = torch.topk(logits, 32)
            cases.append({"image": name, "argmax": int(logits.argmax()),
                          "top": [[int(i), round(float(v), 5)] for v, i in zip(top.values, top.indices)],
                          "prefix0": [round(float(v), 6) for v in prefix[0, 0, :8]],
                          # tokens at a few (token, value) places, to check the encoder's map and merge order
                          "tokens": [[t, c, round(float(tokens[0, t, c]), 6)]
                                     for t in sorted({0, 8, 24, 48, tokens.shape[1] - 1})
                                     for c in sorted({0, 111, 112, 300, tokens.shape[2] - 1}) if c < tokens.shape[2]]})
            print(name, cases[-1]["argmax"], llm.tokenizer.decode([cases[-1]["argmax"]]), file=sys.stderr)
    out = {"weights": weights, "steps": meta.get("steps"), "connector": connector, "prefix": list(prefix.shape[1:]),
           "tokens": kind, "width": int(tokens.shape[2]), "head": head, "tail": tail, "cases": cases}
    name = "chain.json" if connector == "projector" else f"chain-{connector}.json"
    with open(os.path.join(ROOT, "Tests/PipelineModelsTests/Golden/fusion", name), "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
