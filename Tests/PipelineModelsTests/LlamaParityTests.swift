import Foundation
import Testing

@testable import PipelineModels
import PipelineTensor

/// SmolLM2 against llama.cpp 0.3.36 on the same GGUF (goldens by scripts/llm-reference/llama-goldens.py,
/// prompts fed one token at a time): the first step's logits are bit-identical and 64 greedy
/// tokens are the same ids. Exactness comes from doing every operation in ggml's order: Q8_1/Q8_0
/// activation quantization (127/amax, round half to even), the AVX2 block dot products, RoPE with
/// fused multiply-adds, f16 K/V cache with transposed V, f16 attention dots with ggml's
/// accumulator layout, ggml's vector exp in softmax and SiLU. On a CPU without AVX2 the portable
/// kernels round differently, so there only closeness is required.
@Suite("Llama forward pass against llama.cpp", .serialized, .enabled(if: modelPresent(smolLM2File)))
struct LlamaParityTests {
    static let file = "SmolLM2-135M-Instruct.Q4_1.gguf"
    static let golden = DecoderGolden.load("smollm2")
    static let shared: LlamaModel? = model(file).flatMap { try? LlamaModel(file: try GGUFFile(path: $0)) }

    /// The AVX2 build's goldens, on the avx2 path (forced where the CPU would take avx512).
    @Test("first-step logits and 64 greedy tokens match llama.cpp", arguments: 0..<10)
    func prompt(_ index: Int) throws {
        _ = try #require(model(Self.file))
        let llama = try #require(Self.shared)
        try DecoderParity.onAVX2Path {
            try DecoderParity.checkPrompt(llama, try #require(Self.golden?.generate[index]), index: index, eos: 2,
                                          portableTolerance: 0.5)
        }
    }
}

/// SmolLM2 on the avx512 path against llama.cpp 0.3.36's native build on an AVX-512 CPU
/// (Golden/llama/smollm2-native.json): its f16 attention dots, softmax and SiLU take ggml's
/// 16-lane AVX-512 order (llm_avx512.c), the quantized dots the same 8-lane loops as on AVX2.
/// Skipped (and listed in .ci/allowed-skips) on a CPU without AVX-512.
@Suite("Llama forward pass against llama.cpp's native AVX-512 build", .serialized,
       .enabled(if: modelPresent(smolLM2File) && DecoderParity.hasAVX512, "needs SmolLM2 and AVX-512 F/BW/VL"))
struct LlamaNativeParityTests {
    static let golden = DecoderGolden.load("smollm2-native")

    @Test("first-step logits and 64 greedy tokens match llama.cpp native, bit for bit", arguments: 0..<10)
    func prompt(_ index: Int) throws {
        let llama = try #require(LlamaParityTests.shared)
        let golden = try #require(Self.golden?.generate[index], "Golden/llama/smollm2-native.json is missing")
        try ISA.withThreadPath(.avx512) {
            try DecoderParity.checkPrompt(llama, golden, index: index, eos: 2, portableTolerance: 0)
        }
    }
}

@Suite("Llama batched prefill", .enabled(if: modelPresent(smolLM2File)))
struct LlamaPrefillTests {
    @Test("prefill in chunks equals feeding tokens one by one, bit for bit")
    func prefillMatchesSteps() throws {
        _ = try #require(model(LlamaParityTests.file))
        let llama = try #require(LlamaParityTests.shared)
        // A 37-token chat prompt: two chunks.
        try DecoderParity.checkPrefill(llama, ids: try #require(LlamaParityTests.golden?.generate[5].prompt_ids))
    }

    @Test("the trace hook names every layer's intermediates as llama.cpp does, and changes nothing")
    func trace() throws {
        _ = try #require(model(LlamaParityTests.file))
        let llama = try #require(LlamaParityTests.shared)
        let ids = try #require(LlamaParityTests.golden?.generate[0].prompt_ids)
        let traced = llama.makeSession()
        var names: [String] = [], sizes: [String: Int] = [:]
        traced.trace = { name, values in
            names.append(name)
            sizes[name] = values.count
        }
        let logits = try traced.prefill(ids)
        #expect(logits == (try llama.makeSession().prefill(ids)))
        let c = llama.config
        #expect(Array(names.prefix(8)) == ["attn_norm-0", "Qcur-0", "Kcur-0", "Vcur-0", "kqv_out-0", "ffn_inp-0", "ffn_out-0", "l_out-0"])
        #expect(names.count == (8 * c.layers + 2) * ids.count)
        #expect(names.suffix(2) == ["result_norm", "result_output"] && sizes["result_output"] == c.vocabSize)
        #expect(sizes["Qcur-0"] == c.heads * c.headSize && sizes["Kcur-0"] == c.kvHeads * c.headSize)
        #expect(sizes["l_out-\(c.layers - 1)"] == c.width)
    }
}
