import Foundation
import Testing

@testable import PipelineModels
import PipelineTensor

/// Greedy decoding under a grammar against llama.cpp's grammar sampler (goldens by
/// scripts/llm-reference/grammar-goldens.py: llama-cpp-python 0.3.36, prompt fed one token at a
/// time, llama_sampler_init_grammar then argmax): the same token ids on every case, for SmolLM2
/// and Gemma 3, over json.gbnf, enums, bounded repetition, negated classes, unicode (partial
/// UTF-8 tokens) and llama.cpp's own JSON Schema conversions. Exact ids need the AVX2 kernels
/// (the logits are then bit-identical to llama.cpp's); elsewhere the output must still be a
/// complete sentence of the grammar.
@Suite("Grammar parity with llama.cpp", .serialized)
struct GrammarParityTests {
    struct Golden: Decodable {
        struct Case: Decodable {
            let name: String
            let prompt_ids: [Int]
            let grammar: String
            let greedy: [Int]
            let text: String
        }
        let cases: [Case]
    }

    static func golden(_ name: String) -> Golden? {
        try? JSONDecoder().decode(Golden.self, from: Data(contentsOf: URL(fileURLWithPath: goldenFolder + "/grammar/\(name).json")))
    }

    static let models = ["smollm2": "SmolLM2-135M-Instruct.Q4_1.gguf", "gemma3": "gemma-3-270m-q4_k_m.gguf"]
    static let available = models.values.allSatisfy { FileManager.default.fileExists(atPath: modelFolder + "/" + $0) }

    @Test("constrained greedy ids equal llama.cpp's", .enabled(if: available || ProcessInfo.processInfo.environment["CI"] != nil),
          arguments: ["smollm2", "gemma3"])
    func parity(_ which: String) throws {
        // The goldens are the AVX2 build's: on an AVX-512 CPU this runs on the avx2 path.
        try DecoderParity.onAVX2Path { try parityOnPath(which) }
    }

    func parityOnPath(_ which: String) throws {
        let path = try #require(model(Self.models[which]!))
        let golden = try #require(Self.golden(which), "golden \(which).json is missing")
        #expect(golden.cases.count >= 10)
        let loaded = try LoadedModel.shared(path: path)
        let vocabulary = GrammarVocabulary.of(loaded)
        for (n, c) in golden.cases.enumerated() {
            let constraint = try GrammarConstraint(grammar: try Grammar(gbnf: c.grammar), vocabulary: vocabulary)
            var matcher = constraint.makeMatcher()
            let session = loaded.model.makeSession()
            var logits: [Float] = []
            for id in c.prompt_ids { logits = try session.step(id) }
            var out: [Int] = []
            while out.count < c.greedy.count {
                let mask = matcher.mask()
                if n < 3 && out.count < 6 { Self.checkMask(mask, matcher) }
                mask.apply(to: &logits)
                let token = Sampler.argmax(logits)
                out.append(token)
                if vocabulary.endOfGeneration.contains(token) { break }
                let accepted = matcher.accept(token)
                #expect(accepted)
                logits = try session.step(token)
            }
            if QuantizedDot.usesAVX2 {
                #expect(out == c.greedy, "\(which) case \(n) (\(c.name)): \(loaded.tokenizer.decode(out).debugDescription) vs llama.cpp \(c.text.debugDescription)")
            }
        }
    }

    /// The trie-walked mask equals checking every token on its own (llama.cpp's per-token rule).
    static func checkMask(_ mask: TokenMask, _ matcher: GrammarMatcher) {
        let vocabulary = matcher.constraint.vocabulary
        var differ: [Int] = []
        for token in 0..<vocabulary.count {
            var m = matcher
            let ok = vocabulary.pieces[token].isEmpty && !vocabulary.endOfGeneration.contains(token) ? false : m.allows(token)
            if ok != mask.allows(token) { differ.append(token) }
        }
        #expect(differ.isEmpty, "mask and per-token checks differ on \(differ.prefix(10))")
    }
}

/// The composed masks (per-position parts, context checks for the rest) against one full trie
/// walk from the state, along seeded random walks through real grammars on SmolLM2's vocabulary.
@Suite("Grammar masks")
struct GrammarMaskTests {
    static let path = modelFolder + "/SmolLM2-135M-Instruct.Q4_1.gguf"

    @Test("composed mask equals the full walk at every step", .enabled(if: FileManager.default.fileExists(atPath: path) || ProcessInfo.processInfo.environment["CI"] != nil))
    func composedEqualsFull() throws {
        let loaded = try LoadedModel.shared(path: try #require(model("SmolLM2-135M-Instruct.Q4_1.gguf")))
        let vocabulary = GrammarVocabulary.of(loaded)
        var grammars = (GrammarParityTests.golden("smollm2")?.cases ?? []).map(\.grammar)
        let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../../scripts/structured/sample-schemas.json").standardized.path
        for entry in (try JSONValue(parsing: try String(contentsOfFile: samples, encoding: .utf8))).array ?? [] {
            grammars.append(try JSONSchemaCompiler.gbnf(for: try #require(entry["schema"])))
        }
        // Counted repetitions long enough for places in them to share parts (GrammarEquivalence).
        for schema in [#"{"type": "string", "minLength": 40, "maxLength": 300}"#,
                       #"{"type": "array", "items": {"enum": ["ab", "cd"]}, "maxItems": 120}"#,
                       #"{"type": "object", "properties": {"s": {"type": "string", "maxLength": 2000}}, "required": ["s"]}"#] {
            grammars.append(try JSONSchemaCompiler.gbnf(for: try JSONValue(parsing: schema)))
        }
        #expect(grammars.count >= 33)
        var seed: UInt64 = 7
        func next(_ n: Int) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int((seed >> 33) % UInt64(n))
        }
        for (g, text) in grammars.enumerated() {
            // Half with parts computed up front, half on first use: the masks must not differ.
            let constraint = try GrammarConstraint(grammar: try Grammar(gbnf: text), vocabulary: vocabulary, precompute: g % 2 == 0)
            for _ in 0..<2 {
                var matcher = constraint.makeMatcher()
                for step in 0..<(g >= grammars.count - 3 ? 120 : 40) {
                    let mask = matcher.mask()
                    let reference = matcher.referenceMask()
                    #expect(mask == reference, "grammar \(g) step \(step): composed \(mask.allowedCount) vs full \(reference.allowedCount) tokens")
                    if mask != reference { return }
                    let allowed = mask.allowed.filter { !vocabulary.endOfGeneration.contains($0) }
                    guard !allowed.isEmpty else { break }
                    let token = allowed[next(allowed.count)]
                    let ok = matcher.accept(token)
                    #expect(ok)
                }
            }
        }
    }
}
