#!/usr/bin/env python3
"""Makes the Silero VAD references the Swift VAD tests compare with, using the silero-vad
package's own TorchScript model (`load_silero_vad()`, the independent reference) on clips
built from the espeak-ng speech already committed for Whisper:

  Tests/PipelineNodesTests/Golden/silero-vad/vad.json
      per clip: its recipe (how to build the samples: committed FLAC clips, slices, zeros,
      seeded noise), the sample count, the speech probability of every 512-sample chunk
      (the loop get_speech_timestamps runs), and the speech timestamps (in samples) of
      get_speech_timestamps with its defaults and with a few other parameter sets

No audio is written: the Swift tests rebuild every clip from the recipe, bit for bit (FLAC
16-bit samples / 32768, float32 concatenation and addition, and the same 32-bit LCG noise).
The script also checks that the safetensors file scripts/fetch-models converts holds exactly
the TorchScript model's 16 kHz weights.

    /root/venvs/st/bin/pip install silero-vad==6.2.3   # CPU torch is already in that venv
    apt-get install ffmpeg
    /root/venvs/st/bin/python scripts/encoder-reference/silero-goldens.py [MODEL_FILE]
"""
import json, os, subprocess, sys

import numpy as np
import torch
import silero_vad
from safetensors.torch import load_file

HERE = os.path.dirname(os.path.abspath(__file__))
CLIPS = os.path.join(HERE, "../../Tests/PipelineNodesTests/Golden/whisper/clips")
OUT = os.path.join(HERE, "../../Tests/PipelineNodesTests/Golden/silero-vad")
MODEL_FILE = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser(
    "~/.cache/pipeline/models/silero-vad/model.safetensors")
RATE = 16000

# Recipes: a list of parts, concatenated, then optionally noise mixed over the whole.
CASES = {
    "dialogue": {"parts": [{"clip": "hello"}, {"zeros": 16000}, {"clip": "weather"}, {"zeros": 8000},
                           {"clip": "question"}, {"zeros": 32000}, {"clip": "numbers"}]},
    "noisy": {"parts": [{"clip": "pangram"}, {"zeros": 12000}, {"clip": "train"}],
              "mix": {"seed": 7, "amplitude": 0.02}},
    "long": {"parts": [{"clip": "long"}]},
    "short": {"parts": [{"clip": "short"}]},
    "silence": {"parts": [{"zeros": 48000}]},
    "noise": {"parts": [{"noise": 48000, "seed": 1, "amplitude": 0.1}]},
    "tiny": {"parts": [{"clip": "hello", "from": 8000, "to": 9600}]},
}
# Parameter sets besides the defaults: (case, get_speech_timestamps keyword arguments).
VARIANTS = [
    ("dialogue", {"threshold": 0.3, "min_silence_duration_ms": 300, "speech_pad_ms": 100}),
    ("dialogue", {"min_speech_duration_ms": 1000, "speech_pad_ms": 0}),
    ("noisy", {"threshold": 0.7, "min_silence_duration_ms": 50}),
    ("long", {"max_speech_duration_s": 5}),
    ("long", {"max_speech_duration_s": 3, "min_silence_duration_ms": 200}),
]


def flac(name):
    """A committed clip as the Swift decoder gives it: 16-bit samples / 32768, float32."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", os.path.join(CLIPS, name + ".flac"),
                          "-f", "s16le", "-ac", "1", "-ar", str(RATE), "-"], check=True, capture_output=True).stdout
    return (np.frombuffer(raw, np.int16).astype(np.float32) / np.float32(32768)).astype(np.float32)


def noise(count, seed, amplitude):
    """Uniform noise in [-amplitude, amplitude) from a 32-bit LCG (Numerical Recipes constants);
    each value computed in double and rounded once to float32, as the Swift test does."""
    x, out = seed & 0xFFFFFFFF, np.empty(count, np.float32)
    for i in range(count):
        x = (1664525 * x + 1013904223) & 0xFFFFFFFF
        out[i] = np.float32(((x >> 8) / 16777216.0 * 2.0 - 1.0) * amplitude)
    return out


def build(recipe):
    parts = []
    for part in recipe["parts"]:
        if "clip" in part:
            parts.append(flac(part["clip"])[part.get("from", 0):part.get("to")])
        elif "zeros" in part:
            parts.append(np.zeros(part["zeros"], np.float32))
        else:
            parts.append(noise(part["noise"], part["seed"], part["amplitude"]))
    audio = np.concatenate(parts).astype(np.float32)
    if "mix" in recipe:
        audio = (audio + noise(len(audio), recipe["mix"]["seed"], recipe["mix"]["amplitude"])).astype(np.float32)
    return audio


def check_weights(model):
    """The safetensors file scripts/fetch-models made holds the TorchScript model's 16 kHz weights."""
    st = load_file(MODEL_FILE)
    jit = model._model.state_dict()
    assert set(st) == set(jit), sorted(set(st) ^ set(jit))
    for name, tensor in jit.items():
        assert torch.equal(st[name], tensor), name


def probabilities(model, audio):
    """The chunk loop of get_speech_timestamps: 512 samples, the last one zero-padded."""
    model.reset_states()
    tensor, probs = torch.from_numpy(audio), []
    with torch.no_grad():
        for start in range(0, len(tensor), 512):
            chunk = tensor[start:start + 512]
            if len(chunk) < 512:
                chunk = torch.nn.functional.pad(chunk, (0, 512 - len(chunk)))
            probs.append(model(chunk, RATE).item())
    return probs


def main():
    torch.set_num_threads(1)
    model = silero_vad.load_silero_vad()
    check_weights(model)
    out = {"package": "silero-vad " + silero_vad.__version__, "torch": torch.__version__, "cases": {}}
    for name, recipe in CASES.items():
        audio = build(recipe)
        probs = probabilities(model, audio)
        runs = [{"params": {}, "speeches": silero_vad.get_speech_timestamps(torch.from_numpy(audio), model)}]
        for case, params in VARIANTS:
            if case == name:
                runs.append({"params": params,
                             "speeches": silero_vad.get_speech_timestamps(torch.from_numpy(audio), model, **params)})
        # How close a probability came to a decision boundary: timestamps are only comparable
        # when no chunk sits within the parity tolerance of one.
        bounds = {0.5, 0.35, 0.3, 0.15, 0.7, 0.55}
        margin = min((abs(p - b) for p in probs for b in bounds), default=1.0)
        out["cases"][name] = {"recipe": recipe, "samples": int(len(audio)),
                              "probabilities": [round(p, 7) for p in probs], "runs": runs}
        print(f"{name}: {len(audio) / RATE:.2f} s, {len(probs)} chunks, max p {max(probs, default=0):.3f}, "
              f"closest to a threshold {margin:.2e}, segments {[(s['start'], s['end']) for s in runs[0]['speeches']]}")
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "vad.json"), "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
