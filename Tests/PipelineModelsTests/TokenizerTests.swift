import Foundation
import Testing

@testable import PipelineModels

/// llama.cpp's tokenization and prompt ids for SmolLM2 (scripts/llm-reference/llama-goldens.py).
struct LlamaGolden: Decodable {
    struct Tokenized: Decodable {
        let text: String
        let ids: [Int]
    }
    struct Generation: Decodable {
        let prompt: String
        let chat: Bool
        let prompt_ids: [Int]
        let greedy: [Int]
        let text: String
    }
    let tokenize: [Tokenized]
    let generate: [Generation]

    static func load(_ name: String) throws -> LlamaGolden {
        try JSONDecoder().decode(
            LlamaGolden.self, from: Data(contentsOf: URL(fileURLWithPath: goldenFolder + "/llama/\(name).json")))
    }
}

@Suite("BPE tokenizer (SmolLM2) against llama.cpp")
struct TokenizerTests {
    @Test("the corpus and every prompt tokenize to llama.cpp's ids", .enabled(if: modelPresent(smolLM2File)))
    func matchesLlamaCpp() throws {
        let path = try #require(model("SmolLM2-135M-Instruct.Q4_1.gguf"))
        let tokenizer = try BPETokenizer(gguf: try GGUFFile(path: path))
        #expect(tokenizer.preTokenizer == .smollm)
        let golden = try LlamaGolden.load("smollm2")
        for case let (text, ids) in golden.tokenize.map({ ($0.text, $0.ids) }) + golden.generate.map({ ($0.prompt, $0.prompt_ids) }) {
            #expect(tokenizer.encode(text) == ids, "\(text.debugDescription)")
        }
    }

    @Test("decoding llama.cpp's greedy ids gives llama.cpp's text, and round-trips the corpus",
          .enabled(if: modelPresent(smolLM2File)))
    func decodes() throws {
        let path = try #require(model("SmolLM2-135M-Instruct.Q4_1.gguf"))
        let tokenizer = try BPETokenizer(gguf: try GGUFFile(path: path))
        let golden = try LlamaGolden.load("smollm2")
        for g in golden.generate {
            let ids = g.greedy.last == tokenizer.eos ? Array(g.greedy.dropLast()) : g.greedy
            #expect(tokenizer.decode(ids) == g.text.replacingOccurrences(of: "<|im_end|>", with: ""), "\(g.prompt.suffix(30))")
        }
        for t in golden.tokenize {
            #expect(tokenizer.decode(tokenizer.encode(t.text)) == t.text)
        }
    }

    @Test("pre-tokenizer pieces")
    func pieces() {
        func split(_ s: String, _ p: PreTokenizer) -> [String] { p.split(Substring(s)).map(String.init) }
        #expect(split("Hello world", .gpt2) == ["Hello", " world"])
        #expect(split("I'm here   now", .gpt2) == ["I", "'m", " here", "  ", " now"])
        #expect(split("a 123b", .gpt2) == ["a", " 123", "b"])
        #expect(split("a 123b", .smollm) == ["a", " ", "1", "2", "3", "b"])
        #expect(split("x\n\ny", .gpt2) == ["x", "\n", "\n", "y"])
    }
}

@Suite("SentencePiece tokenizer (Gemma 3) against llama.cpp", .enabled(if: modelPresent(gemma3File)))
struct SPMTokenizerTests {
    static let file = "gemma-3-270m-q4_k_m.gguf"
    /// Loaded once for the suite (262144 tokens).
    nonisolated(unsafe) static let shared: (any TextTokenizer)? = model(file).flatMap { try? Tokenizers.load(try GGUFFile(path: $0)) }

    @Test("the corpus and every prompt tokenize to llama.cpp's ids")
    func matchesLlamaCpp() throws {
        _ = try #require(model(Self.file))
        let tokenizer = try #require(Self.shared)
        #expect(tokenizer is SPMTokenizer)
        let golden = try LlamaGolden.load("gemma3")
        // The corpus was tokenized without BOS; prompts with it (add_bos_token is true).
        for t in golden.tokenize {
            #expect(tokenizer.encode(t.text, parseSpecial: true, addSpecial: false) == t.ids, "\(t.text.debugDescription)")
        }
        for g in golden.generate {
            #expect(tokenizer.encode(g.prompt) == g.prompt_ids, "\(g.prompt.debugDescription)")
            #expect(g.prompt_ids.first == tokenizer.bos)
        }
    }

    @Test("decoding llama.cpp's greedy ids gives llama.cpp's text, and round-trips the corpus")
    func decodes() throws {
        _ = try #require(model(Self.file))
        let tokenizer = try #require(Self.shared)
        let golden = try LlamaGolden.load("gemma3")
        for g in golden.generate {
            let ids = g.greedy.last == tokenizer.eos ? Array(g.greedy.dropLast()) : g.greedy
            #expect(tokenizer.decode(ids) == g.text, "\(g.prompt)")
        }
        for t in golden.tokenize {
            #expect(tokenizer.decode(tokenizer.encode(t.text, parseSpecial: true, addSpecial: false)) == t.text)
        }
        // Byte fallback: a character outside the vocabulary comes back whole from its byte tokens.
        let rare = "\u{10FFFD}"
        let ids = tokenizer.encode(rare, parseSpecial: false, addSpecial: false)
        #expect(ids.count == 4)
        #expect(tokenizer.decode(ids) == rare)
    }

    @Test("special tokens: parsed from text only when asked; end-of-turn ends generation")
    func specials() throws {
        _ = try #require(model(Self.file))
        let tokenizer = try #require(Self.shared)
        #expect(tokenizer.encode("<start_of_turn>user", parseSpecial: true, addSpecial: false).first == 105)
        #expect(!tokenizer.encode("<start_of_turn>user", parseSpecial: false, addSpecial: false).contains(105))
        #expect(tokenizer.endOfGeneration.isSuperset(of: [1, 106]))
    }
}
