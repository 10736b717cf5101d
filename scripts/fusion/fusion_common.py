"""What the fusion scripts share: SmolLM2 in PyTorch from the GGUF file (dequantized, frozen), its
byte-level BPE tokenizer read from the same file, the prompt layout around the image prefix, the
short scene targets, and the two connectors (projector, resampler) with the safetensors names the
engine's fusion nodes read.

The layout of one example (the chat template of SmolLM2-135M-Instruct, no system message given, so
the template's default one):

    HEAD   = "<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n<|im_start|>user\\n"
    PREFIX = the connector's vectors (49 for the projector on a 7x7 map)
    TAIL   = PROMPT + "<|im_end|>\\n<|im_start|>assistant\\n"
    TARGET = compact scene JSON + "<|im_end|>"

HEAD and TAIL are tokenized separately (the prefix sits between them), which is what llm.generate
does with a `prefix` input: the prefix goes where the template's user turn begins.
"""
import json, math, os, struct

import numpy as np
import regex
import torch
import torch.nn as nn
import torch.nn.functional as F

MODEL = os.path.expanduser(os.environ.get("PIPELINE_MODELS", "~/.cache/pipeline/models"))
GGUF = os.path.join(MODEL, "SmolLM2-135M-Instruct.Q4_1.gguf")
PROMPT = "Describe the scene as JSON."
SYSTEM = "You describe images."
SHAPES = ["cube", "sphere", "cylinder", "cone"]
COLORS = ["red", "green", "blue", "yellow", "purple", "cyan", "gray", "white"]
CELL = 1.5  # make-scenes puts objects on a 5 x 5 grid of 1.5 m cells
# Which EfficientNet-Lite0 map becomes the tokens (encoder.image's `tokens:` option), and its token
# width at 224 x 224 (make-features.py: what each is); TOKEN_COUNTS: how many tokens at 224 x 224.
TOKEN_KINDS = {"head": 1280, "stride16": 448, "stride16-unmerged": 112}
TOKEN_COUNTS = {"head": 49, "stride16": 49, "stride16-unmerged": 196}


def feature_file(kind):
    """The cache make-features.py writes for a data set: features.npy (head) or features-<kind>.npy."""
    return "features.npy" if kind == "head" else f"features-{kind}.npy"


# ---------------------------------------------------------------- targets

def _number(v):
    """JSON text of a grid value: integers without a fraction (3, 0, -3), else one decimal."""
    return str(int(v)) if float(v).is_integer() else f"{v:.1f}"


def target_objects(record):
    """The record's objects reduced to what the model writes: shape, colour, position snapped to
    the grid cell centre (y = 0); sorted back to front (z), then left to right (x). Size and turn
    are left out: every token of the target costs a forward and backward pass through the LLM,
    and the metrics are count, shape, colour and position."""
    objects = []
    for o in record["objects"]:
        x = round(o["position"][0] / CELL) * CELL
        z = round(o["position"][2] / CELL) * CELL
        objects.append({"shape": o["shape"], "color": o["color"], "position": [x, 0, z]})
    objects.sort(key=lambda o: (o["position"][2], o["position"][0]))
    return objects


def target_text(record):
    """Compact JSON in the key order of pipelines/image-to-scene.schema.json (what the grammar
    accepts): {"objects":[{"shape":"cube","color":"red","position":[-1.5,0,3]}]}."""
    parts = []
    for o in target_objects(record):
        x, y, z = o["position"]
        parts.append('{"shape":"%s","color":"%s","position":[%s,%s,%s]}'
                     % (o["shape"], o["color"], _number(x), _number(y), _number(z)))
    return '{"objects":[' + ",".join(parts) + "]}"


def read_records(data):
    with open(os.path.join(data, "records.jsonl")) as f:
        return [json.loads(line) for line in f]


# ---------------------------------------------------------------- GGUF

def gguf_reader(path=GGUF):
    from gguf import GGUFReader
    return GGUFReader(path)


def gguf_string(reader, key):
    f = reader.fields[key]
    return bytes(f.parts[f.data[0]]).decode("utf-8")


def gguf_scalar(reader, key):
    f = reader.fields[key]
    return f.parts[f.data[0]].tolist()[0]


def gguf_strings(reader, key):
    f = reader.fields[key]
    return [bytes(f.parts[i]).decode("utf-8") for i in f.data]


def gguf_ints(reader, key):
    f = reader.fields[key]
    return [int(f.parts[i][0]) for i in f.data]


# ---------------------------------------------------------------- tokenizer

def _byte_table():
    """GPT-2's byte <-> printable character map."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) + list(range(ord("\xae"), ord("\xff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


class Tokenizer:
    """SmolLM2's byte-level BPE from the GGUF vocabulary and merges, with the `smollm`
    pre-tokenizer (digits cut out one by one, then GPT-2's pattern) and control tokens
    (<|im_start|> ...) recognised in the text, as llama.cpp and our engine tokenize."""
    GPT2 = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")

    def __init__(self, reader):
        self.tokens = gguf_strings(reader, "tokenizer.ggml.tokens")
        types = gguf_ints(reader, "tokenizer.ggml.token_type")
        self.ids = {t: i for i, t in enumerate(self.tokens)}
        self.ranks = {tuple(m.split(" ", 1)): r for r, m in enumerate(gguf_strings(reader, "tokenizer.ggml.merges"))}
        self.special = sorted((t for t, k in zip(self.tokens, types) if k == 3), key=len, reverse=True)
        self.bytes_to_chars = _byte_table()
        self.chars_to_bytes = {c: b for b, c in self.bytes_to_chars.items()}
        self.cache = {}

    def _bpe(self, word):
        if word in self.cache:
            return self.cache[word]
        parts = list(word)
        while len(parts) > 1:
            best = min(((self.ranks.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(parts, parts[1:]))))
            if best[0] == 1 << 30:
                break
            i = best[1]
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        ids = [self.ids[p] for p in parts]
        self.cache[word] = ids
        return ids

    def _plain(self, text):
        out = []
        pieces, last = [], 0
        for m in regex.finditer(r"\p{N}", text):
            if m.start() > last:
                pieces.append(text[last:m.start()])
            pieces.append(m.group())
            last = m.end()
        if last < len(text):
            pieces.append(text[last:])
        for piece in pieces:
            for w in self.GPT2.findall(piece):
                out += self._bpe("".join(self.bytes_to_chars[b] for b in w.encode("utf-8")))
        return out

    def encode(self, text):
        """Token ids; control tokens written in the text are recognised; no BOS (the file says none)."""
        out, i, start = [], 0, 0
        while i < len(text):
            hit = next((s for s in self.special if text.startswith(s, i)), None)
            if hit:
                out += self._plain(text[start:i])
                out.append(self.ids[hit])
                i += len(hit)
                start = i
            else:
                i += 1
        out += self._plain(text[start:])
        return out

    def decode(self, ids):
        data = bytearray()
        for t in ids:
            s = self.tokens[t]
            if s.startswith("<|") and s.endswith("|>"):
                continue
            data += bytes(self.chars_to_bytes[c] for c in s)
        return data.decode("utf-8", errors="replace")


def layout(tok, prompt=PROMPT, system=SYSTEM):
    """(head ids, tail ids, end-of-turn id) of the chat layout around the prefix."""
    head = f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n"
    tail = prompt + "<|im_end|>\n<|im_start|>assistant\n"
    return tok.encode(head), tok.encode(tail), tok.ids["<|im_end|>"]


# ---------------------------------------------------------------- SmolLM2 in PyTorch

class RMSNorm(nn.Module):
    def __init__(self, weight, eps):
        super().__init__()
        self.weight = nn.Parameter(weight, requires_grad=False)
        self.eps = eps

    def forward(self, x):
        xf = x.float()
        y = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return (y * self.weight.float()).to(x.dtype)


class Llama(nn.Module):
    """A llama-architecture GGUF decoder, weights dequantized with gguf-py and frozen. RoPE is
    ggml's normal mode (adjacent pairs rotated), which is what the GGUF's permuted Q/K expect."""

    def __init__(self, path=GGUF, dtype=torch.float32):
        super().__init__()
        from gguf.quants import dequantize
        r = gguf_reader(path)
        self.layers_n = gguf_scalar(r, "llama.block_count")
        self.width = gguf_scalar(r, "llama.embedding_length")
        self.heads = gguf_scalar(r, "llama.attention.head_count")
        self.kv_heads = gguf_scalar(r, "llama.attention.head_count_kv")
        self.eps = gguf_scalar(r, "llama.attention.layer_norm_rms_epsilon")
        self.theta = gguf_scalar(r, "llama.rope.freq_base")
        self.head_size = self.width // self.heads
        self.tokenizer = Tokenizer(r)
        tensors = {t.name: t for t in r.tensors}

        def w(name):
            t = tensors[name]
            a = dequantize(t.data, t.tensor_type).reshape([int(d) for d in reversed(t.shape)])
            return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).to(dtype)

        self.embed = nn.Parameter(w("token_embd.weight"), requires_grad=False)  # [vocab, width]
        self.blocks = nn.ModuleList()
        for i in range(self.layers_n):
            b = nn.Module()
            b.attn_norm = RMSNorm(w(f"blk.{i}.attn_norm.weight"), self.eps)
            b.ffn_norm = RMSNorm(w(f"blk.{i}.ffn_norm.weight"), self.eps)
            for n in ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"]:
                setattr(b, n, nn.Parameter(w(f"blk.{i}.{n}.weight"), requires_grad=False))
            self.blocks.append(b)
        self.norm = RMSNorm(w("output_norm.weight"), self.eps)
        self.output = self.embed if "output.weight" not in tensors else nn.Parameter(w("output.weight"), requires_grad=False)
        half = self.head_size // 2
        self.register_buffer("inv_freq", self.theta ** (-torch.arange(half, dtype=torch.float64) * 2 / self.head_size), persistent=False)

    def rope(self, x, positions):
        """x [B, H, T, D]: pairs (2i, 2i+1) rotated by position * theta^(-2i/D)."""
        angles = positions.double()[:, None] * self.inv_freq[None, :]
        cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
        x0, x1 = x[..., 0::2], x[..., 1::2]
        return torch.stack([x0 * cos - x1 * sin, x0 * sin + x1 * cos], dim=-1).flatten(-2)

    def embed_tokens(self, ids):
        return F.embedding(ids, self.embed)

    def forward(self, x):
        """Input vectors [B, T, width] (token embeddings or prefix vectors) -> normed hidden states."""
        B, T, _ = x.shape
        pos = torch.arange(T)
        H, K, D = self.heads, self.kv_heads, self.head_size
        for b in self.blocks:
            h = b.attn_norm(x)
            q = (h @ b.attn_q.t()).view(B, T, H, D).transpose(1, 2)
            k = (h @ b.attn_k.t()).view(B, T, K, D).transpose(1, 2)
            v = (h @ b.attn_v.t()).view(B, T, K, D).transpose(1, 2)
            q, k = self.rope(q, pos), self.rope(k, pos)
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=H != K)
            x = x + a.transpose(1, 2).reshape(B, T, H * D) @ b.attn_output.t()
            h = b.ffn_norm(x)
            x = x + (F.silu(h @ b.ffn_gate.t()) * (h @ b.ffn_up.t())) @ b.ffn_down.t()
        return self.norm(x)

    def forward_cached(self, x, cache):
        """Like forward, for positions after those in `cache` (a list of per-layer (k, v) that it
        extends; start with []): what batched greedy decoding steps with."""
        B, T, _ = x.shape
        start = cache[0][0].shape[2] if cache else 0
        pos = torch.arange(start, start + T)
        H, K, D = self.heads, self.kv_heads, self.head_size
        for i, b in enumerate(self.blocks):
            h = b.attn_norm(x)
            q = (h @ b.attn_q.t()).view(B, T, H, D).transpose(1, 2)
            k = (h @ b.attn_k.t()).view(B, T, K, D).transpose(1, 2)
            v = (h @ b.attn_v.t()).view(B, T, K, D).transpose(1, 2)
            q, k = self.rope(q, pos), self.rope(k, pos)
            if len(cache) > i:
                k = torch.cat([cache[i][0], k], dim=2)
                v = torch.cat([cache[i][1], v], dim=2)
                cache[i] = (k, v)
            else:
                cache.append((k, v))
            kk = k.repeat_interleave(H // K, dim=1)
            vv = v.repeat_interleave(H // K, dim=1)
            mask = None
            if T > 1:
                mask = torch.ones(T, start + T, dtype=torch.bool).tril(diagonal=start)
            a = F.scaled_dot_product_attention(q, kk, vv, attn_mask=mask)
            x = x + a.transpose(1, 2).reshape(B, T, H * D) @ b.attn_output.t()
            h = b.ffn_norm(x)
            x = x + (F.silu(h @ b.ffn_gate.t()) * (h @ b.ffn_up.t())) @ b.ffn_down.t()
        return self.norm(x)

    def logits(self, hidden):
        return hidden @ self.output.t()


# ---------------------------------------------------------------- connectors

def add_positions(x, position):
    """x [..., n, w] plus a connector's learned per-token vectors [n, w] (none: x as it is)."""
    if position is None:
        return x
    assert x.shape[-2] == position.shape[0], f"{x.shape[-2]} tokens, {position.shape[0]} positions"
    return x + position


class Projector(nn.Module):
    """LLaVA's mlp2x_gelu: Linear(in -> width), GELU (erf), Linear(width -> width), per token;
    optionally plus a learned vector per token position (positions > 0), so each output says which
    cell of the encoder's map it came from (a CNN's map carries little of that in its values, and
    the frozen LLM sees the prefix only through RoPE's relative positions).
    safetensors names: fc1.weight [width, in], fc1.bias [width], fc2.weight [width, width], fc2.bias [width],
    position [positions, width] (only with positions)."""

    def __init__(self, in_dim, width, positions=0):
        super().__init__()
        self.fc1 = nn.Linear(in_dim, width)
        self.fc2 = nn.Linear(width, width)
        self.position = nn.Parameter(torch.zeros(positions, width)) if positions else None

    def forward(self, tokens):
        return add_positions(self.fc2(F.gelu(self.fc1(tokens))), self.position)


def load_projector(tensors):
    """A Projector with the shapes of a state dict (fc1/fc2, and `position` when present), loaded."""
    positions = tensors["position"].shape[0] if "position" in tensors else 0
    conn = Projector(tensors["fc1.weight"].shape[1], tensors["fc1.weight"].shape[0], positions)
    conn.load_state_dict(tensors)
    return conn


class ResamplerLayer(nn.Module):
    """Pre-norm cross-attention of the queries to the tokens, then a pre-norm MLP, each added
    through an optional tanh gate (Flamingo): x += tanh(gate) * f(x)."""

    def __init__(self, dim, heads, gated, mlp_ratio=4):
        super().__init__()
        self.heads = heads
        self.norm_q = nn.LayerNorm(dim, eps=1e-5)
        self.norm_kv = nn.LayerNorm(dim, eps=1e-5)
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.o = nn.Linear(dim, dim)
        self.norm_mlp = nn.LayerNorm(dim, eps=1e-5)
        self.fc1 = nn.Linear(dim, dim * mlp_ratio)
        self.fc2 = nn.Linear(dim * mlp_ratio, dim)
        self.gated = gated
        if gated:
            self.attn_gate = nn.Parameter(torch.zeros(1))
            self.mlp_gate = nn.Parameter(torch.zeros(1))

    def forward(self, x, tokens):
        B, Q, D = x.shape
        N = tokens.shape[1]
        H = self.heads
        kv = self.norm_kv(tokens)
        q = self.q(self.norm_q(x)).view(B, Q, H, D // H).transpose(1, 2)
        k = self.k(kv).view(B, N, H, D // H).transpose(1, 2)
        v = self.v(kv).view(B, N, H, D // H).transpose(1, 2)
        a = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(B, Q, D)
        a = self.o(a)
        x = x + (torch.tanh(self.attn_gate) * a if self.gated else a)
        m = self.fc2(F.gelu(self.fc1(self.norm_mlp(x))))
        return x + (torch.tanh(self.mlp_gate) * m if self.gated else m)


class Resampler(nn.Module):
    """Learned queries that cross-attend to the tokens (Perceiver resampler / Q-Former style):
    tokens -> input Linear(in -> dim) -> N ResamplerLayers on the queries -> LayerNorm ->
    output Linear(dim -> width). A fixed number of prefix vectors whatever the token count.
    safetensors names: input.{weight,bias}, queries [Q, dim], layers.{i}.{norm_q,norm_kv,norm_mlp}.{weight,bias},
    layers.{i}.{q,k,v,o,fc1,fc2}.{weight,bias}, layers.{i}.{attn_gate,mlp_gate} [1] (gated only),
    norm_out.{weight,bias}, output.{weight,bias}; with positions > 0 also position [positions, dim]:
    a learned vector per input token, added after the input Linear, so the queries can tell the
    tokens' places apart (attention alone sees them as a set)."""

    def __init__(self, in_dim, width, dim, queries, layers, heads, gated, positions=0):
        super().__init__()
        self.input = nn.Linear(in_dim, dim)
        self.queries = nn.Parameter(torch.randn(queries, dim) * 0.02)
        self.layers = nn.ModuleList([ResamplerLayer(dim, heads, gated) for _ in range(layers)])
        self.norm_out = nn.LayerNorm(dim, eps=1e-5)
        self.output = nn.Linear(dim, width)
        self.position = nn.Parameter(torch.zeros(positions, dim)) if positions else None

    def forward(self, tokens):
        t = add_positions(self.input(tokens), self.position)
        x = self.queries.unsqueeze(0).expand(tokens.shape[0], -1, -1)
        for layer in self.layers:
            x = layer(x, t)
        return self.output(self.norm_out(x))


def load_connector(tensors, meta):
    """The connector a trained or initialised file holds, loaded: a Resampler when it has `queries`
    (its sizes from the tensors, the head count and gates from the metadata, as the engine reads
    them), else a Projector."""
    if "queries" not in tensors:
        return load_projector(tensors)
    layers = 1 + max(int(k.split(".")[1]) for k in tensors if k.startswith("layers."))
    gated = "layers.0.attn_gate" in tensors
    positions = tensors["position"].shape[0] if "position" in tensors else 0
    queries, dim = tensors["queries"].shape
    conn = Resampler(tensors["input.weight"].shape[1], tensors["output.weight"].shape[0], dim, queries, layers,
                     int(meta["heads"]), gated, positions)
    assert conn.layers[0].fc1.weight.shape == tensors["layers.0.fc1.weight"].shape, "an MLP ratio other than 4"
    conn.load_state_dict(tensors)
    return conn


def engine_pipeline(connector, out_dir):
    """scripts/fusion/eval-engine.yaml for a connector kind: the file itself for the projector; for
    the resampler the same graph with `fusion.resampler` in the connector node, written once into
    OUT_DIR (a node's type is not a parameter). Both take the same `with:` options."""
    here = os.path.dirname(os.path.abspath(__file__))
    base = os.path.join(here, "eval-engine.yaml")
    if connector == "projector":
        return base
    assert connector == "resampler", connector
    text = open(base).read()
    assert text.count("type: fusion.projector") == 1
    # Paths in the file are relative to it: make them absolute so the copy works from OUT_DIR.
    text = text.replace("type: fusion.projector", "type: fusion.resampler")
    text = text.replace("../../pipelines/", os.path.normpath(os.path.join(here, "../../pipelines")) + "/")
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "eval-engine-resampler.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def save_safetensors(path, tensors, metadata, dtype="F32"):
    """float32 (or float16: dtype="F16") safetensors, names sorted, metadata strings (no external
    package needed to read it)."""
    header, offset, blobs = {"__metadata__": metadata}, 0, []
    for name in sorted(tensors):
        a = tensors[name].detach().float().contiguous().numpy().astype({"F32": "<f4", "F16": "<f2"}[dtype])
        b = a.tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    out = {}
    for k, h in header.items():
        b, e = h["data_offsets"]
        if h["dtype"] == "BF16":
            bits = np.frombuffer(data[b:e], dtype="<u2").astype(np.uint32) << 16
            a = bits.view(np.float32)
        else:
            a = np.frombuffer(data[b:e], dtype={"F32": "<f4", "F16": "<f2"}[h["dtype"]]).astype(np.float32)
        out[k] = torch.from_numpy(a.copy()).reshape(h["shape"])
    return out, meta


def ship_weights(src, dst, limit_mb=20):
    """Copies trained weights to where they ship: as they are (float32) when they fit LIMIT_MB,
    else rounded to float16 (the engine reads F32, F16 and BF16 alike; evaluate the shipped file,
    not the float32 one, so both runtimes read the same rounded values). Returns the dtype."""
    tensors, meta = load_safetensors(src)
    size = sum(t.numel() for t in tensors.values()) * 4
    dtype = "F32" if size <= limit_mb * 1e6 else "F16"
    save_safetensors(dst, tensors, dict(meta, dtype=dtype), dtype)
    return dtype
