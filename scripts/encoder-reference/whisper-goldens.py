#!/usr/bin/env python3
"""Makes the speech clips and the Whisper tiny.en references the Swift speech tests compare with,
from the CTranslate2 folder scripts/fetch-models unpacks (no hub access):

  Tests/PipelineNodesTests/Golden/whisper/clips/NAME.flac  espeak-ng speech, 16 kHz mono FLAC (lossless)
  Tests/PipelineNodesTests/Golden/whisper/mel.json         openai-whisper log_mel_spectrogram of the
      first 30 s window (pad_or_trim), every 100th frame, for three clips
  Tests/PipelineNodesTests/Golden/whisper/encoder.json     ctranslate2 encoder output (float32 compute)
      rows 0, 1, 100, 749, 1499 for the same three clips
  Tests/PipelineNodesTests/Golden/whisper/transcripts.json ctranslate2 greedy ids and text per 30 s
      window, prompt <|startoftranscript|><|notimestamps|>, its default suppression, max_length 448

    python3 -m venv /root/venvs/asr      # CPU torch: reuse /root/venvs/st's site-packages via a .pth
    /root/venvs/asr/bin/pip install --no-deps ctranslate2 openai-whisper numba llvmlite more-itertools tiktoken
    apt-get install espeak-ng ffmpeg
    /root/venvs/asr/bin/python scripts/encoder-reference/whisper-goldens.py [MODEL_DIR]
"""
import json, os, subprocess, sys, tempfile

import numpy as np
import ctranslate2
import whisper.audio as wa

MODEL = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/pipeline/models/whisper-tiny.en")
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../Tests/PipelineNodesTests/Golden/whisper")
PROMPT = [50257, 50362]  # <|startoftranscript|><|notimestamps|> (tiny.en: no language or task token)

LONG = (
    "The lighthouse keeper climbed the stairs every evening at sunset. He lit the great lamp, "
    "wound the clockwork that turned the lens, and wrote the weather in his ledger. Ships passed "
    "far out at sea, and their captains were grateful for the steady beam. In the winter, storms "
    "came from the north, and waves broke over the rocks below the tower. The keeper stayed awake "
    "through the long nights, watching the light and listening to the wind. When spring returned, "
    "he painted the railings, repaired the windows, and planted vegetables in the small garden "
    "beside the cottage.")
CLIPS = [
    ("hello", "Hello world. This is a test of the speech recognition system.", "en-us", 175),
    ("weather", "The weather today is sunny with a light breeze from the west.", "en-us", 160),
    ("numbers", "Please call me back at five thirty in the afternoon.", "en", 170),
    ("short", "Yes.", "en-us", 175),
    ("question", "Where did you put the keys to the red car?", "en-us", 150),
    ("pangram", "The quick brown fox jumps over the lazy dog.", "en", 140),
    ("meeting", "Let us move the meeting to Thursday and invite the whole team.", "en-us", 180),
    ("recipe", "Mix two cups of flour with one egg, then bake for twenty minutes.", "en-us", 165),
    ("train", "The next train to the airport leaves from platform four.", "en", 175),
    ("library", "The library opens at nine and closes at six on weekdays.", "en-us", 170),
    ("long", LONG, "en-us", 165),
]
MEL_CLIPS = ["hello", "pangram", "long"]


def bytes_to_unicode():
    """GPT-2's byte-level alphabet: printable bytes map to themselves, the rest to U+0100 on."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def ids_to_text(ids, vocab):
    decoder = {v: k for k, v in bytes_to_unicode().items()}
    text = "".join(vocab[i] for i in ids if i < 50257)
    return bytearray(decoder[c] for c in text).decode("utf-8", errors="replace")


def main():
    os.makedirs(os.path.join(OUT, "clips"), exist_ok=True)
    vocab = open(os.path.join(MODEL, "vocabulary.txt"), encoding="utf-8").read().split("\n")
    model = ctranslate2.models.Whisper(MODEL, device="cpu", compute_type="float32", intra_threads=2)
    mel_out, enc_out, transcripts = {}, {}, {}
    for name, text, voice, speed in CLIPS:
        flac = os.path.join(OUT, "clips", name + ".flac")
        with tempfile.TemporaryDirectory() as tmp:
            wav = os.path.join(tmp, "speech.wav")
            subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", wav, text], check=True)
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", wav, "-ar", "16000", "-ac", "1",
                            "-sample_fmt", "s16", "-c:a", "flac", "-bitexact", flac], check=True)
        audio = wa.load_audio(flac)
        windows = []
        for start in range(0, max(len(audio), 1), wa.N_SAMPLES):
            chunk = wa.pad_or_trim(audio[start:start + wa.N_SAMPLES])
            mel = wa.log_mel_spectrogram(chunk).numpy()  # [80, 3000]
            features = ctranslate2.StorageView.from_array(np.ascontiguousarray(mel[None]))
            if start == 0 and name in MEL_CLIPS:
                mel_out[name] = {"frames": list(range(0, 3000, 100)),
                                 "values": [[round(float(v), 6) for v in mel[:, f]] for f in range(0, 3000, 100)],
                                 "mean": float(mel.mean()), "max": float(mel.max()), "min": float(mel.min())}
                enc = np.array(model.encode(features, to_cpu=True))[0]  # [1500, 384]
                rows = [0, 1, 100, 749, 1499]
                enc_out[name] = {"rows": rows, "values": [[round(float(v), 6) for v in enc[r]] for r in rows],
                                 "mean_abs": float(np.abs(enc).mean())}
            result = model.generate(features, [PROMPT], beam_size=1)[0]
            ids = result.sequences_ids[0]
            windows.append({"ids": ids, "text": ids_to_text(ids, vocab)})
        transcripts[name] = {"spoken": text, "samples": int(len(audio)), "windows": windows}
        print(name, len(audio) / 16000, "s:", " | ".join(w["text"] for w in windows))
    for file, obj in (("mel.json", mel_out), ("encoder.json", enc_out), ("transcripts.json", transcripts)):
        with open(os.path.join(OUT, file), "w") as f:
            json.dump(obj, f, indent=1)


if __name__ == "__main__":
    main()
