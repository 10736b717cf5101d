#!/usr/bin/env python3
"""Reference outputs from llama.cpp (llama-cpp-python 0.3.36, built from source) for our GGUF
engine's parity tests: tokenization of a varied corpus, and for each prompt the greedy
continuation (token ids) plus the first step's logits (top 32 ids with values).

    python3 -m venv /root/venvs/llama && /root/venvs/llama/bin/pip install numpy llama-cpp-python==0.3.36
    /root/venvs/llama/bin/python scripts/llm-reference/llama-goldens.py MODEL.gguf OUT.json [--chat]

or, with the library scripts/llm-reference/build-llama-cpp builds from the same release:

    PYTHONPATH=$SRC LLAMA_CPP_LIB_PATH=$SRC/vendor/llama.cpp/build/bin python3 scripts/llm-reference/llama-goldens.py ...

Goldens per llama.cpp build: the AVX2 build (build-avx2, the avx2 path's reference) wrote
smollm2.json and gemma3.json; the native build on an AVX-512 CPU (build/, the avx512 path's
reference) wrote smollm2-native.json and gemma3-native.json:

    SRC=$(scripts/llm-reference/build-llama-cpp); M=~/.cache/pipeline/models; G=Tests/PipelineModelsTests/Golden/llama
    export PYTHONPATH=$SRC LLAMA_CPP_LIB_PATH=$SRC/vendor/llama.cpp/build/bin THREADS=1
    python3 scripts/llm-reference/llama-goldens.py $M/SmolLM2-135M-Instruct.Q4_1.gguf $G/smollm2-native.json --chat
    python3 scripts/llm-reference/llama-goldens.py $M/gemma-3-270m-q4_k_m.gguf $G/gemma3-native.json

(python3 with numpy, diskcache and jinja2, the imports of llama-cpp-python's sources.)

Goldens here: Tests/PipelineModelsTests/Golden/llama/smollm2.json (SmolLM2-135M-Instruct.Q4_1.gguf, --chat)
and gemma3.json (gemma-3-270m-q4_k_m.gguf: a base model, plain prompts only; BOS added as its
metadata asks). On Gemma 3 batched and token-by-token llama.cpp runs differ by up to ~0.6 in the
first-step logits, so the token-by-token feed below matters even more there.

Note: on SmolLM2 Q4_1, llama.cpp answers the chat "What is the capital of France?" with
"L'Étoile, la Marseillaise, ..." (greedy, and create_chat_completion agrees); the fp32 model's
"The capital of France is Paris." is not what this quantized file gives. Parity is with the file.
"""
import json, os, sys
import numpy as np
from llama_cpp import Llama

path, out = sys.argv[1], sys.argv[2]
chat = "--chat" in sys.argv
# THREADS (default 2) does not change the numbers (ggml splits a product's rows, not its sums
# across threads); 1 is much faster on a loaded machine, where spinning barriers wait on a
# descheduled partner.
llm = Llama(model_path=path, n_ctx=512, n_threads=int(os.environ.get("THREADS", "2")), n_batch=512, logits_all=True,
            verbose=False, seed=0)

corpus = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "  leading and trailing spaces  ",
    "tabs\tand\nnewlines\n\n\nand  double  spaces",
    "Numbers: 1234567890, 3.14159, -42, 1e-9, 2026-11-22",
    "Unicode: café naïve résumé — “quotes” ‘single’ …",
    "Emoji: 😀🎉👍🏽 🇫🇷 👨‍👩‍👧",
    "日本語のテキスト、中文文本，한국어 텍스트",
    "def f(x):\n    return x ** 2  # square\n",
    "if (a && b || !c) { printf(\"%d\\n\", a); }",
    "<|im_start|>user\nHi<|im_end|>",
    "URL: https://example.com/path?q=1&r=two#frag",
    "ALL CAPS and MiXeD cAsE and snake_case and camelCase",
    "a" * 40,
    "   ",
    "",
]
prompts_plain = [
    "The capital of France is",
    "Once upon a time,",
    "def fibonacci(n):",
    "The three primary colors are",
    "In 1969, humans",
]
prompts_chat = [
    "What is the capital of France?",
    "Write a haiku about the sea.",
    "List three fruits.",
    "What is 12 times 7?",
    "Translate 'good morning' to Spanish.",
]

def greedy(tokens, n=64):
    # The prompt goes in one token at a time, so every step takes llama.cpp's matrix-vector
    # path (the one decoding uses). Batched prompt processing (8 or more tokens) switches the
    # attention products to tinyBLAS GEMM, whose summation order differs in the last bits from
    # the matrix-vector path: llama.cpp's batched and token-by-token runs disagree with each
    # other at near-ties. Our engine matches the matrix-vector path exactly.
    llm.reset()
    for t in tokens:
        llm.eval([t])
    first = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float64)
    top = np.argsort(-first)[:32]
    out = []
    for _ in range(n):
        logits = llm.scores[llm.n_tokens - 1]
        tok = int(np.argmax(logits))
        out.append(tok)
        if tok == llm.token_eos():
            break
        llm.eval([tok])
    return out, [[int(i), float(first[i])] for i in top]

result = {"model": path.split("/")[-1], "tokenize": [], "generate": []}
for text in corpus:
    ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
    result["tokenize"].append({"text": text, "ids": ids})
prompts = [(p, False) for p in prompts_plain]
if chat:
    system = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
    for p in prompts_chat:
        text = f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{p}<|im_end|>\n<|im_start|>assistant\n"
        prompts.append((text, True))
for text, is_chat in prompts:
    # BOS only where the model's metadata asks for it (SmolLM2: no; Gemma: yes).
    add_bos = llm.metadata.get("tokenizer.ggml.add_bos_token", "false") == "true"
    tokens = llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)
    generated, top = greedy(tokens)
    result["generate"].append({"prompt": text, "chat": is_chat, "prompt_ids": tokens, "greedy": generated,
                               "text": llm.detokenize(generated).decode("utf-8", "replace"), "first_logits_top": top})
json.dump(result, open(out, "w"), ensure_ascii=False, indent=1)
print(f"wrote {out}: {len(result['tokenize'])} tokenizations, {len(result['generate'])} generations")
