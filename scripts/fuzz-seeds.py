#!/usr/bin/env python3
"""Writes the seed corpora of scripts/fuzz into Tests/FuzzCorpus/TARGET (small files, committed).

Each seed is a valid input that reaches deep into its parser, so the fuzzer starts from what
real files look like:
- gguf: a tiny llama model (1 block, width 64, Q8_0 matrices, a 16-token GPT-2 vocabulary with
  merges and SmolLM2's chat template) that `pipeline generate` loads, plus the first 16 KB of
  SmolLM2's header when the model folder has it (a cut real file);
- safetensors: tensors in F32, F16, BF16 and I64 with `__metadata__`;
- ct2: a CTranslate2 v6 `model.bin` with float, half and integer variables and an alias;
- yaml: the repository's example pipelines (copied by hand), a small alias fan-out and an
  alias chain past the depth limit;
- chat-template: SmolLM2's template, constructs the Jinja subset reads, and values nested past
  the limit;
- tokenizer-json: MiniLM's tokenizer.json settings with a small vocabulary;
- media-probe: tiny PNG, JPEG, GIF, WAV, FLAC, MP3 and MP4 files made by the ffmpeg CLI.

Run from the repository root: python3 scripts/fuzz-seeds.py
"""
import json
import os
import shutil
import struct
import subprocess
import tempfile

ROOT = "Tests/FuzzCorpus"
MODELS = os.environ.get("PIPELINE_MODELS", os.path.expanduser("~/.cache/pipeline/models"))
SMOL_TEMPLATE = ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
                 "{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}"
                 "{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
                 "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


def out(target, name, data):
    os.makedirs(f"{ROOT}/{target}", exist_ok=True)
    with open(f"{ROOT}/{target}/{name}", "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# ---- GGUF -----------------------------------------------------------------------------------
def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf_kv(key, kind, value):
    head = gguf_string(key)
    if kind == "str":
        return head + struct.pack("<I", 8) + gguf_string(value)
    if kind == "u32":
        return head + struct.pack("<II", 4, value)
    if kind == "f32":
        return head + struct.pack("<If", 6, value)
    if kind == "bool":
        return head + struct.pack("<IB", 7, value)
    if kind == "strs":
        return head + struct.pack("<IIQ", 9, 8, len(value)) + b"".join(gguf_string(v) for v in value)
    if kind == "i32s":
        return head + struct.pack("<IIQ", 9, 5, len(value)) + b"".join(struct.pack("<i", v) for v in value)
    raise ValueError(kind)


def q8_0(values):
    """ggml Q8_0: blocks of 32 as an f16 scale and 32 int8."""
    out = b""
    for i in range(0, len(values), 32):
        block = values[i:i + 32]
        scale = max(abs(v) for v in block) / 127 or 1.0
        out += struct.pack("<e", scale) + struct.pack("<32b", *[max(-127, min(127, round(v / scale))) for v in block])
    return out


def tiny_gguf():
    width, ffn, heads, vocab_tokens = 64, 64, 2, ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "H", "i", "Ġ", "t", "h",
                                                   "e", "r", "Hi", "th", "the", "Ġt", "Ġthe", "\n"]
    merges = ["H i", "t h", "th e", "Ġ t", "Ġt he"]
    vocab = len(vocab_tokens)
    kv = [
        gguf_kv("general.architecture", "str", "llama"),
        gguf_kv("llama.block_count", "u32", 1),
        gguf_kv("llama.context_length", "u32", 128),
        gguf_kv("llama.embedding_length", "u32", width),
        gguf_kv("llama.feed_forward_length", "u32", ffn),
        gguf_kv("llama.attention.head_count", "u32", heads),
        gguf_kv("llama.attention.head_count_kv", "u32", heads),
        gguf_kv("llama.rope.freq_base", "f32", 10000.0),
        gguf_kv("llama.attention.layer_norm_rms_epsilon", "f32", 1e-5),
        gguf_kv("tokenizer.ggml.model", "str", "gpt2"),
        gguf_kv("tokenizer.ggml.pre", "str", "smollm"),
        gguf_kv("tokenizer.ggml.tokens", "strs", vocab_tokens),
        gguf_kv("tokenizer.ggml.token_type", "i32s", [3, 3, 3] + [1] * (vocab - 3)),
        gguf_kv("tokenizer.ggml.merges", "strs", merges),
        gguf_kv("tokenizer.ggml.bos_token_id", "u32", 1),
        gguf_kv("tokenizer.ggml.eos_token_id", "u32", 2),
        gguf_kv("tokenizer.chat_template", "str", SMOL_TEMPLATE),
    ]
    wave = lambda n, k: [((i * 7 + k * 13) % 17 - 8) / 16 for i in range(n)]
    tensors = [("token_embd.weight", [width, vocab], 8, q8_0(wave(width * vocab, 1))),
               ("output_norm.weight", [width], 0, struct.pack(f"<{width}f", *[1.0] * width)),
               ("blk.0.attn_norm.weight", [width], 0, struct.pack(f"<{width}f", *[1.0] * width)),
               ("blk.0.ffn_norm.weight", [width], 0, struct.pack(f"<{width}f", *[1.0] * width))]
    for k, (name, cols, rows) in enumerate([("attn_q", width, width), ("attn_k", width, width), ("attn_v", width, width),
                                             ("attn_output", width, width), ("ffn_gate", width, ffn), ("ffn_up", width, ffn),
                                             ("ffn_down", ffn, width)]):
        tensors.append((f"blk.0.{name}.weight", [cols, rows], 8, q8_0(wave(cols * rows, k + 2))))
    infos, blob = b"", b""
    for name, dims, kind, data in tensors:
        while len(blob) % 32:
            blob += b"\0"
        infos += gguf_string(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        infos += struct.pack("<IQ", kind, len(blob))
        blob += data
    header = struct.pack("<IIQQ", 0x46554747, 3, len(tensors), len(kv)) + b"".join(kv) + infos
    while len(header) % 32:
        header += b"\0"
    return header + blob


# ---- safetensors, CTranslate2 ----------------------------------------------------------------
def safetensors_file():
    parts = [("a.weight", "F32", [2, 3], struct.pack("<6f", *range(6))),
             ("b.half", "F16", [4], struct.pack("<4e", 0.5, -1, 2, 65504)),
             ("c.bf16", "BF16", [2], struct.pack("<2H", 0x3F80, 0xC000)),
             ("position_ids", "I64", [1, 3], struct.pack("<3q", 0, 1, 2))]
    header, blob = {"__metadata__": {"format": "pt", "num_heads": "2"}}, b""
    for name, dtype, shape, data in parts:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + len(data)]}
        blob += data
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + blob


def ct2_file():
    def s(text):
        b = text.encode() + b"\0"
        return struct.pack("<H", len(b)) + b
    variables = [("encoder/conv1/weight", [4, 2, 3], 0, struct.pack("<24f", *range(24))),
                 ("decoder/embeddings/weight", [3, 4], 4, struct.pack("<12e", *[0.25 * i for i in range(12)])),
                 ("encoder/num_heads", [], 3, struct.pack("<i", 2)),
                 ("decoder/bias", [4], 5, struct.pack("<4H", 0x3F80, 0, 0xBF80, 0x4000))]
    body = struct.pack("<I", 6) + s("WhisperSpec") + struct.pack("<II", 3, len(variables))
    for name, shape, dtype, data in variables:
        body += s(name) + struct.pack("<B", len(shape)) + b"".join(struct.pack("<I", d) for d in shape)
        body += struct.pack("<BI", dtype, len(data)) + data
    return body + struct.pack("<I", 1) + s("decoder/projection/weight") + s("decoder/embeddings/weight")


# ---- text seeds ---------------------------------------------------------------------------------
def text_seeds():
    lines = ["version: 1", "params:", "  l0: &l0 \"lol\""]
    for level in range(1, 4):
        lines.append(f"  l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 4) + "]")
    lines += ["nodes:", "  - id: src", "    type: gen.sequence", "    with: { count: 2 }"]
    out("yaml", "aliases.yaml", "\n".join(lines) + "\n")
    # Regression seeds: a chain of anchors nesting past the 256-level limit, and a template
    # nesting values past its limit (each once overflowed the stack).
    chain = ["version: 1", "params:", "  a0: &a0 [x]"] + [f"  a{i}: &a{i} [*a{i - 1}]" for i in range(1, 300)]
    chain += ["nodes:", "  - id: src", "    type: gen.sequence", "    with: { count: 1 }"]
    out("yaml", "alias-chain.yaml", "\n".join(chain) + "\n")
    out("chat-template", "nested-sets.jinja", "{% set a = [] %}" + "{% set a = [a] %}" * 1100 + "{{ a }}")
    # (Tests/FuzzCorpus/chat-template/timeout-huge-range.jinja is libFuzzer's own finding, kept as found.)
    out("chat-template", "smollm2.jinja", SMOL_TEMPLATE)
    out("chat-template", "constructs.jinja",
        "{%- set n = messages | length %}{% for m in messages -%}{{ loop.index }}:{{ m.role | upper }}="
        "{{ m.content | trim }}{% if not loop.last %}, {% endif %}{%- endfor %} {{ n * 2 - 1 }} {{ n // 2 }} {{ n % 2 }}"
        "{% if x is defined %}d{% elif n > 1 %}{{ 'ab'[1:] ~ bos_token }}{% else %}{{ raise_exception('no') }}{% endif %}"
        "{{ [1, 2] + [3] }}{{ range(3) | length }}{{ {'a': 1}['a'] }}{{ 'x'.startswith('x') }}")
    tokenizer = {"version": "1.0", "truncation": {"max_length": 128},
                 "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                                "strip_accents": None, "lowercase": True},
                 "pre_tokenizer": {"type": "BertPreTokenizer"},
                 "added_tokens": [{"id": 0, "content": "[PAD]", "special": True}],
                 "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                           "max_input_chars_per_word": 100, "vocab": {"[PAD]": 0, "[UNK]": 1, "hello": 5}}}
    out("tokenizer-json", "minilm-small.json", json.dumps(tokenizer, indent=1))


def media_seeds():
    with tempfile.TemporaryDirectory() as tmp:
        def ff(*args, name):
            subprocess.run(["ffmpeg", "-v", "error", "-y", *args, f"{tmp}/{name}"], check=True)
            with open(f"{tmp}/{name}", "rb") as f:
                out("media-probe", name, f.read())
        src = "testsrc=size=16x16:rate=5"
        ff("-f", "lavfi", "-i", src, "-frames:v", "1", name="tiny.png")
        ff("-f", "lavfi", "-i", src, "-frames:v", "1", name="tiny.jpg")
        ff("-f", "lavfi", "-i", src, "-frames:v", "3", name="tiny.gif")
        ff("-f", "lavfi", "-i", src, "-frames:v", "3", "-pix_fmt", "yuv420p", name="tiny.mp4")
        tone = "sine=frequency=440:sample_rate=8000:duration=0.1"
        ff("-f", "lavfi", "-i", tone, name="tiny.wav")
        ff("-f", "lavfi", "-i", tone, name="tiny.flac")
        ff("-f", "lavfi", "-i", tone, "-b:a", "32k", name="tiny.mp3")


def main():
    out("gguf", "tiny-llama.gguf", tiny_gguf())
    smol = f"{MODELS}/SmolLM2-135M-Instruct.Q4_1.gguf"
    if os.path.exists(smol):
        with open(smol, "rb") as f:
            out("gguf", "smollm2-first-16k.gguf", f.read(16384))
    out("safetensors", "dtypes.safetensors", safetensors_file())
    out("ct2", "whisper-like.bin", ct2_file())
    text_seeds()
    media_seeds()
    for target in sorted(os.listdir(ROOT)):
        files = os.listdir(f"{ROOT}/{target}")
        print(target, len(files), "seeds,", sum(os.path.getsize(f"{ROOT}/{target}/{n}") for n in files), "bytes")


if __name__ == "__main__":
    main()
