import Foundation
import Testing

@testable import PipelineModels
import PipelineTensor

/// llama.cpp's log-probabilities of choices after prompts (Golden/llama/choices-*.json, written
/// by scripts/llm-reference/choice-goldens.py, every token fed one at a time).
struct ChoiceGolden: Decodable {
    struct Choice: Decodable {
        let text: String
        let ids: [Int]
        let logprobs: [Double]
    }
    struct Case: Decodable {
        let prompt: String
        let prompt_ids: [Int]
        let choices: [Choice]
    }
    let cases: [Case]

    static func load(_ name: String) throws -> ChoiceGolden {
        try JSONDecoder().decode(ChoiceGolden.self, from: Data(contentsOf: URL(fileURLWithPath: goldenFolder + "/llama/choices-\(name).json")))
    }
}

@Suite("Scoring choices by likelihood", .serialized)
struct ChoiceScoringTests {
    static let cases: [(String, String)] = [(PrefixModels.smol, "smollm2"), (PrefixModels.gemma, "gemma3")]
        .filter { PrefixModels.available($0.0) }

    /// Our tokenizer gives llama.cpp's ids for prompts and choices, and the batched scorer its
    /// per-token log-probabilities: equal up to the last bits of the float64 log-sum-exp on AVX2
    /// (the logits themselves are bit-identical), within 0.05 on the portable kernels.
    @Test("per-token log-probabilities match llama.cpp's", arguments: cases)
    func llamaCpp(_ file: String, _ golden: String) throws {
        // The goldens are the AVX2 build's: on an AVX-512 CPU this runs on the avx2 path.
        try DecoderParity.onAVX2Path { try llamaCppOnPath(file, golden) }
    }

    func llamaCppOnPath(_ file: String, _ golden: String) throws {
        let m = try PrefixModels.load(file)
        let reference = try ChoiceGolden.load(golden)
        let tolerance = QuantizedDot.usesAVX2 ? 1e-9 : 0.05
        #expect(reference.cases.count >= 3)
        for c in reference.cases {
            #expect(m.tokenizer.encode(c.prompt) == c.prompt_ids, "prompt ids differ: \(c.prompt)")
            let choices = c.choices.map { m.tokenizer.encode($0.text, parseSpecial: false, addSpecial: false) }
            #expect(choices == c.choices.map(\.ids), "choice ids differ: \(c.prompt)")
            let scores = try m.score(prompt: c.prompt_ids, choices: c.choices.map(\.ids))
            for (score, expected) in zip(scores, c.choices) {
                #expect(score.tokenLogprobs.count == expected.logprobs.count)
                let worst = zip(score.tokenLogprobs, expected.logprobs).map { abs($0 - $1) }.max() ?? 0
                #expect(worst <= tolerance, "\(golden) '\(expected.text)': max |logprob - llama.cpp| = \(worst)")
            }
        }
    }

    /// Batched (a chunk per choice from the prompt's snapshot), token by token from the snapshot,
    /// and the naive way (a fresh session per choice, prompt and choice stepped): bit for bit.
    @Test("batched, token-by-token and fresh-session scoring agree bit for bit", arguments: cases.map(\.0))
    func batchedEqualsNaive(_ file: String) throws {
        let m = try PrefixModels.load(file)
        let prompt = try PrefixModels.prompts(m)[0]
        let choices = ["positive", "negative", "neutral", "It is hard to say from such a short review, honestly; it reads as mixed to me."]
            .map { m.tokenizer.encode($0, parseSpecial: false, addSpecial: false) }
        #expect(choices.last!.count > DecoderSession.chunkSize / 2)
        let batched = try m.score(prompt: prompt, choices: choices)
        let stepped = try m.score(prompt: prompt, choices: choices, reuse: .off, batched: false)
        #expect(batched == stepped)
        for (choice, score) in zip(choices, batched) {
            let session = m.model.makeSession()
            var logits: [Float] = []
            for t in prompt { logits = try session.step(t) }
            var expected: [Double] = []
            for t in choice {
                expected.append(LoadedModel.logSoftmax(logits, at: t))
                logits = try session.step(t)
            }
            #expect(score.tokenLogprobs == expected)
        }
    }

    @Test("bad choice lists are refused with a reason", .enabled(if: !cases.isEmpty))
    func badInput() throws {
        let m = try PrefixModels.load(try #require(Self.cases.first?.0, "no model to test with"))
        #expect(throws: ScoringError.noChoices) { try m.score(prompt: [1, 2], choices: []) }
        #expect(throws: ScoringError.emptyChoice(index: 1)) { try m.score(prompt: [1, 2], choices: [[3], []]) }
        #expect(throws: ModelError.self) { try m.score(prompt: [1, 2], choices: [[m.model.vocabSize]]) }
        let long = [Int](repeating: 5, count: m.model.contextLength)
        #expect(throws: ScoringError.self) { try m.score(prompt: long, choices: [[3]]) }
    }
}
