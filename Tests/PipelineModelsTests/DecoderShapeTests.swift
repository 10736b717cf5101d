import Foundation
import Testing

@testable import PipelineModels

@Suite("Decoder shape and session input checks")
struct DecoderShapeTests {
    /// A tensor-less GGUF whose metadata is `general.architecture` = llama and the given
    /// `llama.*` u32 keys.
    static func llamaFile(_ keys: [(String, UInt32)]) throws -> GGUFFile {
        var b = GGUFBuilder()
        b.u32(0x4655_4747)
        b.u32(3)
        b.u64(0)  // tensors
        b.u64(UInt64(keys.count + 1))
        b.string("general.architecture")
        b.u32(8)
        b.string("llama")
        for (key, value) in keys {
            b.string("llama." + key)
            b.u32(4)
            b.u32(value)
        }
        return try GGUFFile(path: write(b.bytes))
    }

    static let sizes: [(String, UInt32)] = [
        ("block_count", 2), ("embedding_length", 64), ("feed_forward_length", 128), ("context_length", 256),
    ]

    @Test("zero or uneven head counts are refused by key, not divided by")
    func badHeads() throws {
        #expect(throws: ModelError.badValue(key: "llama.attention.head_count", why: "must be positive, got 0")) {
            try LlamaModel(file: try Self.llamaFile(Self.sizes + [("attention.head_count", 0)]))
        }
        #expect(throws: ModelError.badValue(key: "llama.attention", why: "4 heads, 3 KV heads of size 16")) {
            try LlamaModel(file: try Self.llamaFile(Self.sizes + [("attention.head_count", 4), ("attention.head_count_kv", 3)]))
        }
        #expect(throws: ModelError.missingTensor("blk.0.attn_norm.weight")) {
            try LlamaModel(file: try Self.llamaFile(Self.sizes + [("attention.head_count", 2)]))
        }
    }

    @Test("a token id outside the vocabulary and an input of the wrong width are refused, the session unchanged",
          .enabled(if: modelPresent(smolLM2File) && modelPresent(gemma3File)), arguments: ["llama", "gemma3"])
    func badInput(_ architecture: String) throws {
        _ = try #require(model(architecture == "llama" ? LlamaParityTests.file : Gemma3ParityTests.file))
        let loaded: (any LanguageModel)? = architecture == "llama" ? LlamaParityTests.shared : Gemma3ParityTests.shared
        let m = try #require(loaded)
        let session = m.makeSession()
        let vocab = m.vocabSize
        #expect(throws: ModelError.badValue(key: "token", why: "id \(vocab) is outside the vocabulary (0..<\(vocab))")) {
            try session.step(vocab)
        }
        #expect(throws: ModelError.badValue(key: "token", why: "id -1 is outside the vocabulary (0..<\(vocab))")) {
            try session.prefill([1, -1])
        }
        #expect(throws: ModelError.badShape(tensor: "input embedding", expected: [m.width], got: [3])) {
            try session.step(embedding: [1, 2, 3])
        }
        #expect(session.position == 0)
    }
}
