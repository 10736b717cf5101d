#!/usr/bin/env python3
"""Reference log-probabilities of choices after a prompt, from llama.cpp (llama-cpp-python 0.3.36
built from source by scripts/llm-reference/build-llama-cpp), for the scoring tests of
Tests/PipelineModelsTests/ChoiceScoringTests.swift:

    SRC=$(scripts/llm-reference/build-llama-cpp)
    PYTHONPATH=$SRC LLAMA_CPP_LIB_PATH=$SRC/vendor/llama.cpp/build/bin \
        python3 scripts/llm-reference/choice-goldens.py MODEL.gguf OUT.json [--chat]

For each (prompt, choices) case: the prompt's ids (BOS as the model's metadata asks), each
choice's ids (tokenized alone: no BOS, no special tokens), and for every token of a choice
log softmax(logits)[token] in float64, where the logits are llama.cpp's after the prompt and
the choice's earlier tokens. Everything is fed one token at a time, the matrix-vector path our
engine matches bit for bit (see llama-goldens.py: batched prompts take tinyBLAS GEMM, whose
summation order differs in the last bits). The state after the prompt is saved once and
loaded back for each choice, as our scorer restores its snapshot.

The library must be built for AVX2 (no AVX-512), the kernels our engine matches bit for bit:
build-llama-cpp's GGML_NATIVE=ON picks AVX-512 on a machine that has it, and that build's
logits differ from the committed llama.cpp goldens by up to 0.5 on some prompts. The goldens
here came from the same 0.3.36 sources built with

    cmake -B build -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON \
        -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DLLAMA_CURL=OFF && cmake --build build --target llama

(that build reproduces Golden/llama/smollm2.json and gemma3.json exactly), and the Python
side needs numpy, diskcache, jinja2 and typing_extensions.

Goldens here: Tests/PipelineModelsTests/Golden/llama/choices-smollm2.json
(SmolLM2-135M-Instruct.Q4_1.gguf, --chat) and choices-gemma3.json (gemma-3-270m-q4_k_m.gguf, plain).
"""
import json, sys
import numpy as np
from llama_cpp import Llama

path, out = sys.argv[1], sys.argv[2]
chat = "--chat" in sys.argv
llm = Llama(model_path=path, n_ctx=512, n_threads=2, n_batch=512, logits_all=True, verbose=False, seed=0)
add_bos = llm.metadata.get("tokenizer.ggml.add_bos_token", "false") == "true"

system = "Classify the review's sentiment. Answer with one word: positive, negative or neutral."
if chat:
    def wrap(user):
        return (f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n"
                f"<|im_start|>assistant\n")
    cases = [
        (wrap("The kettle boils fast and looks great."), ["positive", "negative", "neutral"]),
        (wrap("Broke after two days. Never again!"), ["positive", "negative", "neutral"]),
        (wrap("What is the capital of France?"), ["Paris", "The capital of France is Paris.", "Lyon", "I don't know."]),
        (wrap("Is café a French word?"), ["Oui, café est un mot français.", "No", "Yes — it means coffee."]),
    ]
else:
    cases = [
        ("The capital of France is", [" Paris", " Lyon", " a city in Europe", " Berlin."]),
        ("Review: The kettle boils fast and looks great.\nSentiment:", [" positive", " negative", " neutral"]),
        ("Emoji for happy: ", ["😀", "😢", ":)"]),
    ]

def logsoftmax(row):
    row = np.asarray(row, dtype=np.float64)
    top = row.max()
    return row - top - np.log(np.exp(row - top).sum())

result = {"model": path.split("/")[-1], "cases": []}
for prompt, choices in cases:
    ids = llm.tokenize(prompt.encode("utf-8"), add_bos=add_bos, special=True)
    llm.reset()
    for t in ids:
        llm.eval([t])
    after_prompt = llm.save_state()
    first = logsoftmax(llm.scores[llm.n_tokens - 1])
    scored = []
    for choice in choices:
        cids = llm.tokenize(choice.encode("utf-8"), add_bos=False, special=False)
        llm.load_state(after_prompt)
        logprobs = [float(first[cids[0]])]
        for j in range(len(cids) - 1):
            llm.eval([cids[j]])
            logprobs.append(float(logsoftmax(llm.scores[llm.n_tokens - 1])[cids[j + 1]]))
        scored.append({"text": choice, "ids": cids, "logprobs": logprobs, "total": float(sum(logprobs))})
    result["cases"].append({"prompt": prompt, "prompt_ids": ids, "choices": scored})
json.dump(result, open(out, "w"), ensure_ascii=False, indent=1)
print(f"wrote {out}: {len(result['cases'])} cases")
