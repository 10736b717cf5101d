import Foundation
import Testing

@testable import PipelineModels
import CKernels
import PipelineTensor

/// Gemma 3 270M (Q4_K_M: Q8_0, Q5_0, Q4_K, Q6_K tensors) against llama.cpp 0.3.36 on the same
/// GGUF (goldens by scripts/llm-reference/llama-goldens.py, prompts fed one token at a time):
/// first-step logits bit-identical and 64 greedy tokens the same ids. Beyond the SmolLM2
/// emulations this rests on Q8_K activations as ggml's reference quantizer makes them, each
/// K-quant dot in the float order of the kernel llama.cpp picks on AVX2 (Q4_K through its
/// repacked 8-row gemv), GEGLU through ggml's f16 GELU table, and NEOX RoPE with per-layer
/// bases. Without AVX2 the portable kernels give the same bits for the new types, but the
/// Q8_0 ones round differently, so there only closeness is required.
@Suite("Gemma 3 forward pass against llama.cpp", .serialized, .enabled(if: modelPresent(gemma3File)))
struct Gemma3ParityTests {
    static let file = "gemma-3-270m-q4_k_m.gguf"
    static let golden = DecoderGolden.load("gemma3")
    static let shared: Gemma3Model? = model(file).flatMap { try? Gemma3Model(file: try GGUFFile(path: $0)) }

    /// Gemma amplifies last-bit differences: the exact GELU formula in place of ggml's f16
    /// table alone moves its top logits by 0.47. Without AVX2 only closeness is asked.
    @Test("first-step logits and 64 greedy tokens match llama.cpp", arguments: 0..<5)
    func prompt(_ index: Int) throws {
        _ = try #require(model(Self.file))
        let gemma = try #require(Self.shared)
        try DecoderParity.onAVX2Path {
            try DecoderParity.checkPrompt(gemma, try #require(Self.golden?.generate[index]), index: index, eos: 1,
                                          portableTolerance: 1)
        }
    }
}

/// Gemma 3 on the avx512 path against llama.cpp 0.3.36's native build on an AVX-512 CPU
/// (Golden/llama/gemma3-native.json). For a one-token step that build runs the AVX2 loops of
/// the Q5_0/Q6_K dots and the Q4_K 8x8 gemv, the GELU table, and the AVX-512 f16 dots and
/// softmax. Skipped (and listed in .ci/allowed-skips) on a CPU without AVX-512.
@Suite("Gemma 3 forward pass against llama.cpp's native AVX-512 build", .serialized,
       .enabled(if: modelPresent(gemma3File) && DecoderParity.hasAVX512, "needs Gemma 3 and AVX-512 F/BW/VL"))
struct Gemma3NativeParityTests {
    static let golden = DecoderGolden.load("gemma3-native")

    @Test("first-step logits and 64 greedy tokens match llama.cpp native, bit for bit", arguments: 0..<5)
    func prompt(_ index: Int) throws {
        let gemma = try #require(Gemma3ParityTests.shared)
        let golden = try #require(Self.golden?.generate[index], "Golden/llama/gemma3-native.json is missing")
        try ISA.withThreadPath(.avx512) {
            try DecoderParity.checkPrompt(gemma, golden, index: index, eos: 1, portableTolerance: 0)
        }
    }
}

@Suite("Gemma 3 batched prefill", .enabled(if: modelPresent(gemma3File)))
struct Gemma3PrefillTests {
    @Test("prefill in chunks equals feeding tokens one by one, bit for bit")
    func prefillMatchesSteps() throws {
        _ = try #require(model(Gemma3ParityTests.file))
        let gemma = try #require(Gemma3ParityTests.shared)
        // 40 tokens: two chunks (32 + 8).
        let golden = try #require(Gemma3ParityTests.golden?.generate[1])
        let ids = golden.prompt_ids + [506, 5279, 529, 7001, 563] + golden.greedy.prefix(29)
        #expect(ids.count == 40)
        try DecoderParity.checkPrefill(gemma, ids: ids)
    }

    @Test("the trace hook gives llama.cpp's names, ending with the logits it returns")
    func trace() throws {
        _ = try #require(model(Gemma3ParityTests.file))
        let gemma = try #require(Gemma3ParityTests.shared)
        let session = gemma.makeSession()
        var names: [String] = [], last: [Float] = []
        session.trace = { name, values in
            names.append(name)
            last = values
        }
        let logits = try session.step(2)
        #expect(names.first == "inp_scaled" && names.last == "result_output" && last == logits)
        #expect(names.contains("Qcur_normed-0") && names.contains("ffn_post_norm-\(gemma.config.layers - 1)"))
        #expect(names.count == 3 + 14 * gemma.config.layers)
    }

    @Test("config: window 512 on all layers but every 6th, RoPE bases 1e6 (global) and 1e4 (local)")
    func config() throws {
        _ = try #require(model(Gemma3ParityTests.file))
        let gemma = try #require(Gemma3ParityTests.shared)
        #expect(gemma.config.slidingWindow == 512)
        #expect(gemma.config.sliding.enumerated().filter { !$0.element }.map(\.offset) == [5, 11, 17])
        #expect(gemma.config.ropeBase == 1_000_000 && gemma.config.ropeBaseLocal == 10_000)
    }
}

@Suite("KV cache attention window")
struct KVCacheWindowTests {
    /// Keys before `first` are masked: whatever they hold, the output is the same bits, and it
    /// is close to attending over a cache that holds only the window.
    @Test func maskedKeysDoNotCount() {
        let d = 32, width = 64, heads = 4
        var state: UInt64 = 7
        func random() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(state >> 33) % 2000 - 1000) / 500
        }
        let keys = (0..<10).map { _ in (0..<width).map { _ in random() } }
        let values = (0..<10).map { _ in (0..<width).map { _ in random() } }
        let q = (0..<(heads * d)).map { _ in random() }
        func attend(_ keys: [[Float]], _ values: [[Float]], window: Int) -> [Float] {
            let cache = KVCache(layers: 1, width: width, headSize: d, capacity: 16)
            for p in keys.indices { cache.store(layer: 0, position: p, keys: keys[p], values: values[p]) }
            var out = [Float](repeating: 0, count: heads * d)
            cache.attend(layer: 0, queries: q, heads: heads, count: 1, from: keys.count - 1, window: window, scale: 0.2,
                         threads: 2, into: &out)
            return out
        }
        // Position 9 with a window of 6 sees positions 4...9.
        let windowed = attend(keys, values, window: 6)
        var scrambledKeys = keys, scrambledValues = values
        for p in 0..<4 {
            scrambledKeys[p] = scrambledKeys[p].map { $0 * 9 + 1 }
            scrambledValues[p] = scrambledValues[p].map { -$0 * 3 }
        }
        #expect(attend(scrambledKeys, scrambledValues, window: 6) == windowed)
        let onlyWindow = attend(Array(keys[4...]), Array(values[4...]), window: 0)
        for i in windowed.indices { #expect(abs(windowed[i] - onlyWindow[i]) < 1e-2) }
        #expect(attend(keys, values, window: 0) != windowed)
        #expect(attend(keys, values, window: 7) != windowed)
    }
}

@Suite("Model registry")
struct ModelRegistryTests {
    @Test("an unknown general.architecture is refused by name, listing what is supported")
    func unknownArchitecture() throws {
        var bytes = GGUFBuilder.valid()
        let llama = Array("llama".utf8)
        let at = try #require((0...(bytes.count - llama.count)).first { Array(bytes[$0..<($0 + llama.count)]) == llama })
        bytes.replaceSubrange(at..<(at + 5), with: Array("mamba".utf8))
        let file = try GGUFFile(path: write(bytes))
        #expect(throws: ModelError.unsupportedArchitecture("mamba", supported: ["gemma3", "llama"])) { try ModelRegistry.load(file) }
        #expect("\(ModelError.unsupportedArchitecture("mamba", supported: ModelRegistry.supported))"
            == "architecture 'mamba' is not supported (supported: gemma3, llama)")
    }

    @Test("Gemma 3 loads through the registry and LoadedModel with its SentencePiece tokenizer",
          .enabled(if: modelPresent(gemma3File)))
    func gemmaLoads() throws {
        let path = try #require(model(Gemma3ParityTests.file))
        let loaded = try LoadedModel(path: path)
        #expect(loaded.model is Gemma3Model)
        #expect(loaded.tokenizer is SPMTokenizer)
        #expect(loaded.chatTemplate == nil)
        #expect(loaded.stopTokens.isSuperset(of: [1, 106]))
        let result = try loaded.generate(GenerationRequest(prompt: loaded.tokenizer.encode("The capital of France is"), maxTokens: 8))
        #expect(result.text == " the capital of the country of France.")
    }
}

@Suite("GEGLU kernel")
struct GEGLUTests {
    /// The AVX2 and portable paths give the same bits, across the table range and its edges
    /// (0 at or below -10, x at or above 10), and stay close to the exact tanh GELU.
    @Test func avx2MatchesPortableAndFormula() {
        let gate: [Float] = (0..<4099).map { Float($0 - 2049) / 97 } + [-10, 10, -10.000001, 9.999999, 0, -0.0, 1e-8]
        let up: [Float] = gate.indices.map { Float($0 % 13) / 4 - 1.5 }
        var fast = [Float](repeating: .nan, count: gate.count), portable = fast
        pl_geglu(gate, up, &fast, Int32(gate.count))
        QuantizedDot.withPortableKernels { pl_geglu(gate, up, &portable, Int32(gate.count)) }
        #expect(fast.map(\.bitPattern) == portable.map(\.bitPattern))
        for i in gate.indices {
            let x = Double(gate[i])
            let exact = x <= -10 ? 0 : x >= 10 ? x : 0.5 * x * (1 + tanh(0.7978845608 * x * (1 + 0.044715 * x * x)))
            #expect(abs(Double(fast[i]) - exact * Double(up[i])) <= 2e-3 * max(1, abs(exact * Double(up[i]))), "x = \(x)")
        }
    }
}
