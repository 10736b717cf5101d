#!/usr/bin/env python3
"""Greedy output of llama.cpp's grammar sampler (llama-cpp-python 0.3.36, built by
scripts/llm-reference/build-llama-cpp) for the grammar engine's parity test: for each
(prompt, grammar) pair, the prompt is fed one token at a time (as in llama-goldens.py), then
at every step llama_sampler_init_grammar's sampler masks the logits and the highest one (lowest
id on ties) is taken and accepted, until an end-of-generation token or the step limit.

    SRC=$(LLAMA_AVX2=1 scripts/llm-reference/build-llama-cpp)
    PYTHONPATH=$SRC LLAMA_CPP_LIB_PATH=$SRC/vendor/llama.cpp/build-avx2/bin \
      python3 scripts/llm-reference/grammar-goldens.py MODEL.gguf OUT.json [--chat]

Grammars: GBNF written here (llama.cpp's grammars/json.gbnf, enums, bounded repetition,
classes with ranges and negation, unicode) and JSON Schemas converted by llama-cpp-python's own
json_schema_to_gbnf. The GBNF text goes into the golden, so our engine parses the very same text.

The library must be the AVX2 build (LLAMA_AVX2=1): on an AVX-512 machine the native build's
kernels round differently and its logits differ from ours (and from llama-goldens.py's goldens).

Goldens: Tests/PipelineModelsTests/Golden/grammar/smollm2.json (SmolLM2-135M-Instruct.Q4_1.gguf,
--chat) and gemma3.json (gemma-3-270m-q4_k_m.gguf, plain prompts, BOS as its metadata asks).
"""
import ctypes, json, sys
import numpy as np
import llama_cpp
from llama_cpp import Llama
from llama_cpp.llama_grammar import json_schema_to_gbnf

path, out = sys.argv[1], sys.argv[2]
chat = "--chat" in sys.argv
llm = Llama(model_path=path, n_ctx=512, n_threads=2, n_batch=512, logits_all=True, verbose=False, seed=0)
vocab = llama_cpp.llama_model_get_vocab(llm._model.model)
n_vocab = llm.n_vocab()

JSON_GBNF = r'''root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null") ws

object ::=
  "{" ws (
            string ":" ws value
    ("," ws string ":" ws value)*
  )? "}" ws

array  ::=
  "[" ws (
            value
    ("," ws value)*
  )? "]" ws

string ::=
  "\"" (
    [^"\\\x7F\x00-\x1F] |
    "\\" (["\\bfnrt] | "u" [0-9a-fA-F]{4}) # escapes
  )* "\"" ws

number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws

# Optional space: by convention, applied in this grammar after literal chars when allowed
ws ::= | " " | "\n" [ \t]{0,20}
'''

grammars = {
    "json": JSON_GBNF,
    "sentiment-enum": 'root ::= "positive" | "negative" | "neutral"',
    "yes-no": 'root ::= ("Yes" | "No") "."',
    "list-bounded": 'root ::= "[" item ("," " "? item){1,3} "]"\nitem ::= "\\"" [a-z]{1,8} "\\""',
    "digits": 'root ::= [1-9] [0-9]{0,3} (" apples" | " pears")',
    "not-vowels": 'root ::= [^aeiouAEIOU\\n]{3,12} "!"',
    "unicode": 'root ::= ("café" | "naïve" | "日本語" | "😀") (" " ("über" | [α-ω]{2,5}))?',
    "sentence": 'root ::= [A-Z] [a-z ,]{5,40} "."',
    "key-value": 'root ::= (key "=" val "\\n"){2,3}\nkey ::= [a-z]+\nval ::= [0-9]+ | "\\"" [^"\\n]* "\\""',
}
schemas = {
    "schema-person": {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
                      "required": ["name", "age"]},
    "schema-nested": {"type": "object", "properties": {
        "title": {"type": "string"},
        "author": {"type": "object", "properties": {"first": {"type": "string"}, "last": {"type": "string"}}, "required": ["first", "last"]},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3}},
        "required": ["title", "author", "tags"]},
    "schema-enum": {"type": "object", "properties": {"color": {"enum": ["red", "green", "blue"]}, "size": {"type": "number"}},
                    "required": ["color", "size"]},
}
for name, schema in schemas.items():
    grammars[name] = json_schema_to_gbnf(json.dumps(schema))

if chat:
    system = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
    def wrap(p):
        return f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{p}<|im_end|>\n<|im_start|>assistant\n"
else:
    def wrap(p):
        return p
cases = [
    ("Describe a cat as JSON.", "json"),
    ("Give a JSON object describing the weather in Paris.", "json"),
    ("Is this review positive, negative or neutral? 'The food was cold and late.'", "sentiment-enum"),
    ("Is this review positive, negative or neutral? 'Wonderful staff, great view!'", "sentiment-enum"),
    ("Is the sky blue?", "yes-no"),
    ("List some fruits.", "list-bounded"),
    ("How many apples are in the basket?", "digits"),
    ("Shout something.", "not-vowels"),
    ("Say a word in another language.", "unicode"),
    ("Write a sentence about dogs.", "sentence"),
    ("Write a small config file.", "key-value"),
    ("Who wrote Hamlet? Answer as JSON with name and age.", "schema-person"),
    ("Describe the book Dune as JSON.", "schema-nested"),
    ("Pick a color and size for a ball.", "schema-enum"),
]

add_bos = llm.metadata.get("tokenizer.ggml.add_bos_token", "false") == "true"
dtype = np.dtype([("id", "<i4"), ("logit", "<f4"), ("p", "<f4")], align=True)
assert dtype.itemsize == ctypes.sizeof(llama_cpp.llama_token_data)

def constrained_greedy(tokens, grammar, n=48):
    smpl = llama_cpp.llama_sampler_init_grammar(vocab, grammar.encode("utf-8"), b"root")
    assert smpl, "llama.cpp refused the grammar"
    llm.reset()
    for t in tokens:
        llm.eval([t])
    out = []
    for _ in range(n):
        logits = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
        data = np.zeros(n_vocab, dtype=dtype)
        data["id"] = np.arange(n_vocab, dtype=np.int32)
        data["logit"] = logits
        arr = llama_cpp.llama_token_data_array(
            data=data.ctypes.data_as(llama_cpp.llama_token_data_p), size=n_vocab, selected=-1, sorted=False)
        llama_cpp.llama_sampler_apply(smpl, ctypes.byref(arr))
        tok = int(np.argmax(data["logit"]))  # the grammar only lowers logits to -inf, in place
        assert data["logit"][tok] > -np.inf, "the grammar allows nothing"
        out.append(tok)
        if llama_cpp.llama_vocab_is_eog(vocab, tok):
            break
        llama_cpp.llama_sampler_accept(smpl, tok)
        llm.eval([tok])
    llama_cpp.llama_sampler_free(smpl)
    return out

result = {"model": path.split("/")[-1], "cases": []}
for prompt, name in cases:
    text = wrap(prompt)
    tokens = llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)
    ids = constrained_greedy(tokens, grammars[name])
    result["cases"].append({"name": name, "prompt": text, "prompt_ids": tokens, "grammar": grammars[name], "greedy": ids,
                            "text": llm.detokenize(ids).decode("utf-8", "replace")})
    print(name, repr(result["cases"][-1]["text"][:80]), file=sys.stderr)
json.dump(result, open(out, "w"), ensure_ascii=False, indent=1)
print(f"wrote {out}: {len(result['cases'])} cases")
