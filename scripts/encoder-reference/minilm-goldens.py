#!/usr/bin/env python3
"""Writes the reference token ids and embeddings of all-MiniLM-L6-v2 for the Swift encoder's
tests, from the model folder scripts/fetch-models unpacks (no hub access):

  Tests/PipelineModelsTests/Golden/minilm/tokens.json      `tokenizers` ids (the model's
      tokenizer.json, truncation set to sentence-transformers' max_seq_length 256, no padding)
  Tests/PipelineModelsTests/Golden/minilm/embeddings.json  sentence-transformers embeddings
      (mean pooling + normalisation), rounded to 6 decimals

    python3 -m venv /root/venvs/st
    /root/venvs/st/bin/pip install "torch==2.13.0+cpu" sentence-transformers   # CPU wheel, not CUDA
    /root/venvs/st/bin/python scripts/encoder-reference/minilm-goldens.py [MODEL_DIR]
"""
import json, os, sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch
from sentence_transformers import SentenceTransformer
from tokenizers import Tokenizer

MODEL = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/pipeline/models/all-MiniLM-L6-v2")
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../Tests/PipelineModelsTests/Golden/minilm")
MAX_LENGTH = 256  # sentence_bert_config.json max_seq_length (tokenizer.json says 128: sentence-transformers overrides it)

LONG = " ".join(
    f"Sentence number {i} of a long document talks about lighthouses, harbours, ledgers and ships."
    for i in range(30))

TOKEN_SENTENCES = [
    "A man is playing a guitar.",
    "A man is playing an acoustic guitar on stage.",
    "The stock market fell sharply on Tuesday as investors worried about rates.",
    "",
    " ",
    "\t\n\r",
    "Hello, world!",
    "HELLO World, hello WORLD.",
    "Don't stop believin'; it's (almost) 3:00 a.m.?!",
    "Café, naïve, résumé, façade, jalapeño, Ångström, Zürich.",
    "ÉCOLE ÉLÉMENTAIRE — Œuvre complète",
    "Crème brûlée costs €5.50 (or £4.80) — not $10!",
    "東京は日本の首都です。",
    "我爱自然语言处理",
    "한국어 문장도 토큰화됩니다.",
    "日本語とEnglishのmixed文章",
    "Emoji: 😀🎉👍🏽 and ❤️ hearts",
    "family 👨‍👩‍👧 emoji with zero-width joiners",
    "Numbers 1234567890, 3.14159, 1e-12, 42nd, 0x1F",
    "Dates like 2024-03-15 and 15/03/2024 at 12:34:56",
    "Visit https://example.com/path?query=1&lang=en#frag for more.",
    "Email me at someone.else+tag@example.org, thanks.",
    "C++ and C# are languages; so is Objective-C.",
    "snake_case_identifier and camelCaseIdentifier and kebab-case-name",
    "Supercalifragilisticexpialidocious is unbelievably antidisestablishmentarian.",
    "a" * 101,
    "b" * 100,
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    "Ελληνικά: Η γρήγορη καφέ αλεπού ΟΔΟΣ",
    "Русский текст: Быстрая коричневая лиса прыгает.",
    "العربية: الثعلب البني السريع",
    "עברית: השועל החום המהיר",
    "हिन्दी: तेज़ भूरी लोमड़ी",
    "ไทย: สุนัขจิ้งจอกสีน้ำตาล",
    "Tabs\tand\nnewlines\r\nand  multiple   spaces",
    "Zero\u200bwidth\u200cnon\u200djoiner and soft\u00adhyphen",
    "Control\u0001chars\u0007in\u001ftext",
    "Replacement \ufffd char and NUL\u0000 byte",
    "Non-breaking\u00a0space and ideographic\u3000space",
    "Quotes: “curly”, ‘single’, «guillemets», „low“",
    "Dashes – en — em ‐ hyphen and ellipsis…",
    "Math: x² + y² = z², ½ + ¼ = ¾, α β γ ∑ ∫ √",
    "Fullwidth ＡＢＣ ｘｙｚ １２３ and halfwidth ｶﾀｶﾅ",
    "Ligatures ﬁ ﬂ ﬀ and the German ß and İstanbul",
    "The [MASK] sat on the [SEP] mat [CLS] [UNK] [PAD].",
    "lowercase [mask] is not special",
    "What is the capital of France?",
    "I can't believe it's not butter!!!",
    "   leading and trailing spaces   ",
    "...???!!!",
    "@user #hashtag $TICKER %percent ^caret &and *star",
    "Mixed CaSe WoRdS LiKe iPhone and eBay and McDonald's",
    "The quick brown fox jumps over the lazy dog.",
    LONG,
    "word " * 300,
]

EMBED_SENTENCES = [
    "A man is playing a guitar.",
    "A man is playing an acoustic guitar on stage.",
    "The stock market fell sharply on Tuesday as investors worried about rates.",
    "",
    "Café, naïve, résumé — crème brûlée!",
    "東京は日本の首都です。",
    "Emoji: 😀🎉👍🏽 and ❤️ hearts",
    "Visit https://example.com/path?query=1&lang=en#frag for more.",
    "Numbers 1234567890, 3.14159 and 42nd",
    "The lighthouse keeper counted the ships every night.",
    "Mix 500 g of flour, 10 g of salt and 7 g of yeast.",
    LONG,
]


def main():
    torch.set_num_threads(2)
    tokenizer = Tokenizer.from_file(os.path.join(MODEL, "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_LENGTH)
    model = SentenceTransformer(MODEL, device="cpu")
    assert model.max_seq_length == MAX_LENGTH, model.max_seq_length

    tokens = []
    for text in TOKEN_SENTENCES:
        ids = tokenizer.encode(text).ids
        # sentence-transformers' own tokenization must agree with the `tokenizers` ids.
        st_ids = model.tokenize([text])["input_ids"][0].tolist()
        assert st_ids == ids, (text, ids, st_ids)
        tokens.append({"text": text, "ids": ids})

    embeddings = model.encode(EMBED_SENTENCES, batch_size=32, convert_to_numpy=True)
    embedded = [{"text": t, "embedding": [round(float(v), 6) for v in e]} for t, e in zip(EMBED_SENTENCES, embeddings)]

    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "tokens.json"), "w", encoding="utf-8") as f:
        json.dump({"model": "all-MiniLM-L6-v2", "max_length": MAX_LENGTH, "sentences": tokens}, f, ensure_ascii=False)
        f.write("\n")
    with open(os.path.join(OUT, "embeddings.json"), "w", encoding="utf-8") as f:
        json.dump({"model": "all-MiniLM-L6-v2", "reference": "sentence-transformers", "sentences": embedded},
                  f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"{len(tokens)} tokenized, {len(embedded)} embedded -> {os.path.normpath(OUT)}")
    print("guitar ids:", tokens[0]["ids"])
    import numpy as np
    print("cos(guitar, acoustic) = %.4f, cos(guitar, stocks) = %.4f" % (
        float(np.dot(embeddings[0], embeddings[1])), float(np.dot(embeddings[0], embeddings[2]))))


if __name__ == "__main__":
    main()
