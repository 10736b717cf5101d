import Foundation
import Testing

@testable import PipelineModels
import PipelineTensor

/// llama.cpp's outputs for one GGUF decoder (Golden/llama/*.json, written by
/// scripts/llm-reference/llama-goldens.py): per prompt its ids, the top 32 logits after the
/// prompt fed one token at a time, and the greedy continuation's ids.
struct DecoderGolden: Decodable {
    struct Case: Decodable {
        let prompt: String
        let prompt_ids: [Int]
        let greedy: [Int]
        let first_logits_top: [[Double]]
    }
    let generate: [Case]

    /// The golden file `Golden/llama/<name>.json`, or nil when it cannot be read.
    static func load(_ name: String) -> DecoderGolden? {
        try? JSONDecoder().decode(DecoderGolden.self, from: Data(contentsOf: URL(fileURLWithPath: goldenFolder + "/llama/\(name).json")))
    }
}

/// The checks every GGUF decoder passes against its llama.cpp goldens.
///
/// Goldens come per llama.cpp build: `<name>.json` from the AVX2 build (build-avx2: the
/// kernels of the avx2 path) and `<name>-native.json` from the native build on an AVX-512 CPU
/// (the avx512 path). On an AVX-512 CPU both are checked, each on its own path.
enum DecoderParity {
    /// Runs `body` on the path the AVX2 build's goldens were made for: avx2 where this CPU
    /// would take avx512 (the override reaches the worker pool), else the current path.
    static func onAVX2Path<T>(_ body: () throws -> T) rethrows -> T {
        try ISA.withThreadPath(ISA.current == .avx512 ? .avx2 : ISA.current, body)
    }

    /// True where this CPU runs the avx512 path (and so the native-build goldens apply).
    static let hasAVX512 = ISA.best(for: .host) == .avx512

    /// Feeds the case's prompt one token at a time: the logits of llama.cpp's top 32 must be
    /// bit-identical on a SIMD path (avx2 against the AVX2 build's goldens, avx512 against the
    /// native build's; within `portableTolerance` on the portable kernels, which round
    /// differently), and there the greedy continuation (stopping at `eos`) the same ids.
    static func checkPrompt(_ model: some LanguageModel, _ golden: DecoderGolden.Case, index: Int, eos: Int,
                            portableTolerance: Double) throws {
        let session = model.makeSession()
        var logits: [Float] = []
        for id in golden.prompt_ids { logits = try session.step(id) }
        var maxDiff: Double = 0
        for pair in golden.first_logits_top {
            maxDiff = max(maxDiff, abs(Double(logits[Int(pair[0])]) - pair[1]))
        }
        let exact = QuantizedDot.usesAVX2
        #expect(maxDiff <= (exact ? 0 : portableTolerance), "prompt \(index): max |logit - llama.cpp| over its top 32 = \(maxDiff)")
        var generated: [Int] = []
        var next = Sampler.argmax(logits)
        while generated.count < golden.greedy.count {
            generated.append(next)
            if generated.count == golden.greedy.count || next == eos { break }
            logits = try session.step(next)
            next = Sampler.argmax(logits)
        }
        if exact {
            #expect(generated == golden.greedy, "prompt \(index): greedy ids differ from llama.cpp's")
        }
    }

    /// Prefilling `ids` (more than one chunk) gives the same logits, bit for bit, as stepping
    /// them, and leaves the same cache: the next step's logits agree too.
    static func checkPrefill(_ model: some LanguageModel, ids: [Int]) throws {
        #expect(ids.count > DecoderSession.chunkSize)
        let stepped = model.makeSession()
        var expected: [Float] = []
        for id in ids { expected = try stepped.step(id) }
        let batched = model.makeSession()
        let logits = try batched.prefill(ids)
        #expect(logits == expected)
        #expect(batched.position == ids.count)
        let next = Sampler.argmax(logits)
        #expect(try batched.step(next) == (try stepped.step(next)))
    }
}
