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
@Suite("Llama forward pass against llama.cpp", .serialized)
struct LlamaParityTests {
    struct Logits: Decodable {
        let prompt: String
        let prompt_ids: [Int]
        let greedy: [Int]
        let first_logits_top: [[Double]]
    }
    struct Golden: Decodable { let generate: [Logits] }

    static let golden: Golden? = try? JSONDecoder().decode(
        Golden.self, from: Data(contentsOf: URL(fileURLWithPath: goldenFolder + "/llama/smollm2.json")))

    @Test("first-step logits and 64 greedy tokens match llama.cpp", arguments: 0..<10)
    func prompt(_ index: Int) throws {
        guard let path = model("SmolLM2-135M-Instruct.Q4_1.gguf") else { return }
        let llama = try LlamaModel(file: try GGUFFile(path: path))
        let case_ = try #require(Self.golden?.generate[index])
        let session = llama.makeSession()
        var logits: [Float] = []
        for id in case_.prompt_ids { logits = try session.step(id) }
        // Top logits: same ids in the same order where they are not near-ties, values close.
        var maxDiff: Double = 0
        for pair in case_.first_logits_top {
            maxDiff = max(maxDiff, abs(Double(logits[Int(pair[0])]) - pair[1]))
        }
        let exact = QuantizedDot.usesAVX2
        #expect(maxDiff <= (exact ? 0 : 0.5), "prompt \(index): max |logit - llama.cpp| over its top 32 = \(maxDiff)")
        var generated: [Int] = []
        var next = logits.indices.max { logits[$0] < logits[$1] }!
        while generated.count < case_.greedy.count {
            generated.append(next)
            if generated.count == case_.greedy.count || next == 2 { break }
            logits = try session.step(next)
            next = logits.indices.max { logits[$0] < logits[$1] }!
        }
        if exact {
            #expect(generated == case_.greedy, "prompt \(index): greedy ids differ from llama.cpp's")
        }
    }
}

@Suite("Llama batched prefill")
struct LlamaPrefillTests {
    @Test("prefill in chunks equals feeding tokens one by one, bit for bit")
    func prefillMatchesSteps() throws {
        guard let path = model("SmolLM2-135M-Instruct.Q4_1.gguf") else { return }
        let llama = try LlamaModel(file: try GGUFFile(path: path))
        let golden = try #require(LlamaParityTests.golden?.generate[5])  // a 37-token chat prompt: two chunks
        let stepped = llama.makeSession()
        var expected: [Float] = []
        for id in golden.prompt_ids { expected = try stepped.step(id) }
        let batched = llama.makeSession()
        let logits = try batched.prefill(golden.prompt_ids)
        #expect(logits == expected)
        #expect(batched.position == golden.prompt_ids.count)
        // The caches agree too: the next steps give the same logits.
        let next = Sampler.argmax(logits)
        #expect(try batched.step(next) == (try stepped.step(next)))
    }
}
