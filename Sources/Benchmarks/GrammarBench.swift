import ArgumentParser
import Foundation
import PipelineModels

/// `pipeline-bench grammar`: times constrained decoding for scripts/bench-grammar.
struct GrammarBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grammar",
        abstract: "Constrained decoding: mask times, decode rates, GBNF, samples (scripts/bench-grammar).",
        subcommands: [Masks.self, Generate.self, GBNF.self, Samples.self])

    /// Per-token mask time on a schema corpus.
    ///
    /// For each schema that compiles (a fresh constraint each, so first visits pay the trie
    /// walk as they would in a real run), each valid instance is tokenized and, at every token,
    /// the mask is computed (timed) and the token accepted. Prints count, mean, p50, p99 and
    /// max in microseconds of thread CPU time. `GRAMMAR_BENCH_SLOW=1` prints every mask over 1 ms.
    struct Masks: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Per-token mask time (thread CPU µs) over a JSON Schema test-suite corpus.")
        @Argument(help: "The model (.gguf) whose vocabulary is masked.") var model: String
        @Argument(help: "A folder of JSON files, each with a schema and its tests.") var corpus: String
        @Option(help: "Take every n-th file of the corpus.") var every = 1
        @Option(help: "Stop after this many schemas (0: all).") var limit = 0
        @Option(help: "Depth of the precomputed parts of the vocabulary trie.") var partDepth = 3
        @Option(help: "Precompute the parts when the constraint is made (0: on first use).") var precompute = 1

        func run() throws {
            let gguf = try GGUFFile(path: model)
            let tokenizer = try Tokenizers.load(gguf)
            let types = gguf["tokenizer.ggml.token_type"]?.array?.compactMap(\.int) ?? []
            let eos = Set([tokenizer.eos].compactMap { $0 }).union(tokenizer.endOfGeneration)
            let vocabulary = GrammarVocabulary(tokenizer: tokenizer, tokenTypes: types, endOfGeneration: eos)
            let files = try FileManager.default.contentsOfDirectory(atPath: corpus).filter { $0.hasSuffix(".json") }.sorted()
            let every = max(1, self.every)
            let slow = ProcessInfo.processInfo.environment["GRAMMAR_BENCH_SLOW"] != nil
            var times: [Double] = []
            var precomputeTimes: [Double] = []
            var parts = 0, lateParts = 0, stateWalks = 0
            var schemas = 0
            for (n, file) in files.enumerated() where n % every == 0 {
                if limit > 0 && schemas >= limit { break }
                let doc = try JSONValue(parsing: try String(contentsOfFile: corpus + "/" + file, encoding: .utf8))
                guard let schema = doc["schema"], let grammar = try? JSONSchemaCompiler.grammar(for: schema),
                      let constraint = try? GrammarConstraint(grammar: grammar, vocabulary: vocabulary, partDepth: partDepth,
                                                              precompute: precompute != 0) else { continue }
                schemas += 1
                precomputeTimes.append(constraint.precomputeSeconds * 1e3)
                parts += constraint.precomputedParts
                defer {
                    lateParts += constraint.partWalks - constraint.precomputedParts
                    stateWalks += constraint.stateWalks
                }
                for test in doc["tests"]?.array ?? [] {
                    guard case .bool(true)? = test["valid"], let data = test["data"] else { continue }
                    let text = JSONSchemaCompiler.arrange(data, schema: schema).canonicalText
                    var matcher = constraint.makeMatcher()
                    for token in tokenizer.encode(text, parseSpecial: false, addSpecial: false) {
                        let start = threadMicros()
                        let w0 = constraint.partWalks, u0 = constraint.uncertainChecks
                        let mask = matcher.mask()
                        let t = threadMicros() - start
                        times.append(t)
                        if t > 1000 && slow {
                            print("slow \(file) \(Int(t)) us walks \(constraint.partWalks - w0) uncertain \(constraint.uncertainChecks - u0)")
                        }
                        guard mask.allows(token), matcher.accept(token) else { break }
                    }
                }
            }
            times.sort()
            let mean = times.reduce(0, +) / Double(max(1, times.count))
            print(String(format: "schemas=%d tokens=%d mean_us=%.1f p50_us=%.1f p99_us=%.1f max_us=%.1f vocab=%d",
                         schemas, times.count, mean, percentile(times, 0.5), percentile(times, 0.99), times.last ?? 0, vocabulary.count))
            precomputeTimes.sort()
            print(String(format: "  precompute per schema (wall): parts=%d later_parts=%d state_walks=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f total_s=%.1f",
                         parts, lateParts, stateWalks, percentile(precomputeTimes, 0.5), percentile(precomputeTimes, 0.99),
                         precomputeTimes.last ?? 0, precomputeTimes.reduce(0, +) / 1e3))
        }
    }

    /// End-to-end decode tok/s, free vs schema-constrained, alternating runs: prints the best
    /// and median of each (greedy, the same prompt, free runs forced to the same length).
    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decode tok/s, free vs schema-constrained, alternating; best and median of each.")
        @Argument(help: "The model (.gguf).") var model: String
        @Argument(help: "The JSON Schema.") var schema: String
        @Argument(help: "The prompt text.") var prompt: String
        @Option(help: "Most tokens to generate.") var tokens = 128
        @Option(help: "Rounds after the warm-up round.") var runs = 3
        @Option(help: "Decoding threads.") var threads = 2

        func run() throws {
            let model = try LoadedModel(path: self.model)
            model.model.threads = threads
            let schema = try JSONValue(parsing: try String(contentsOfFile: self.schema, encoding: .utf8))
            let constraint = try GrammarConstraint(grammar: try JSONSchemaCompiler.grammar(for: schema), vocabulary: GrammarVocabulary.of(model))
            let prompt = model.tokenizer.encode(self.prompt)
            var free: [Double] = [], constrained: [Double] = []
            var constrainedTokens = 0
            for round in 0...max(1, runs) {
                var c = GenerationRequest(prompt: prompt, maxTokens: tokens)
                c.constraint = constraint
                let cr = try model.generate(c)
                constrainedTokens = cr.tokens.count
                var f = GenerationRequest(prompt: prompt, maxTokens: max(2, cr.tokens.count))
                f.ignoreEndOfText = true
                let fr = try model.generate(f)
                if round > 0 {  // round 0 warms up (and fills the mask cache, as a long run would)
                    constrained.append(cr.decodeTokensPerSecond)
                    free.append(fr.decodeTokensPerSecond)
                }
            }
            free.sort()
            constrained.sort()
            print(String(format: "tokens=%d free_best=%.1f free_median=%.1f constrained_best=%.1f constrained_median=%.1f ratio_best=%.3f",
                         constrainedTokens, free.last ?? 0, percentile(free, 0.5), constrained.last ?? 0, percentile(constrained, 0.5),
                         (constrained.last ?? 0) / max(1e-9, free.last ?? 1)))
        }
    }

    /// The GBNF a schema compiles to (for llama.cpp in scripts/bench-grammar).
    struct GBNF: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gbnf", abstract: "Print the GBNF grammar a JSON Schema compiles to.")
        @Argument(help: "The JSON Schema.") var schema: String

        func run() throws {
            print(try JSONSchemaCompiler.gbnf(for: try JSONValue(parsing: try String(contentsOfFile: schema, encoding: .utf8))))
        }
    }

    /// Sampled outputs (temperature 0.8, seeds 1...per) under each schema, one JSON line each,
    /// for scripts/structured/validate-samples.py to parse and validate.
    struct Samples: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sample constrained outputs under each schema into a JSONL file.")
        @Argument(help: "The model (.gguf).") var model: String
        @Argument(help: "A JSON list of {name, schema, prompt}.") var schemas: String
        @Argument(help: "The JSONL file to write.") var output: String
        @Option(help: "Samples per schema (seeds 1...per).") var per = 10
        @Option(help: "Most tokens per sample.") var tokens = 256

        func run() throws {
            let model = try LoadedModel(path: self.model)
            let list = try JSONValue(parsing: try String(contentsOfFile: schemas, encoding: .utf8)).array ?? []
            guard let template = model.chatTemplate else { throw GenerationError.noChatTemplate(self.model) }
            var lines = ""
            for entry in list {
                guard let name = entry["name"]?.string, let schema = entry["schema"], let prompt = entry["prompt"]?.string else { continue }
                let constraint = try GrammarConstraint(grammar: try JSONSchemaCompiler.grammar(for: schema), vocabulary: GrammarVocabulary.of(model))
                let text = try template.render([
                    ChatMessage(role: "system", content: "Answer with JSON only, matching this JSON Schema: " + schema.canonicalText),
                    ChatMessage(role: "user", content: prompt),
                ])
                for seed in 1...max(1, per) {
                    var request = GenerationRequest(prompt: model.tokenizer.encode(text), maxTokens: tokens,
                                                    sampling: SamplingOptions(temperature: 0.8, seed: UInt64(seed)))
                    request.constraint = constraint
                    let result = try model.generate(request)
                    var line = "{\"name\":"
                    JSONValue.string(name).write(into: &line)
                    line += ",\"seed\":\(seed),\"finish\":\"\(result.finishReason.rawValue)\",\"text\":"
                    JSONValue.string(result.text).write(into: &line)
                    line += "}\n"
                    lines += line
                }
            }
            try lines.write(toFile: output, atomically: true, encoding: .utf8)
            print("wrote \(output)")
        }
    }
}
