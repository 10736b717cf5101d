// grammar-bench: times constrained decoding for scripts/bench-grammar.
//
//   grammar-bench masks <model.gguf> <schema-corpus-folder> [--every 1] [--limit 0]
//     Per-token mask time on the corpus: for each schema that compiles (a fresh constraint
//     each, so first visits pay the trie walk as they would in a real run), each valid
//     instance is tokenized and, at every token, the mask is computed (timed) and the token
//     accepted. Prints count, mean, p50, p99 and max in microseconds of thread CPU time.
//
//   grammar-bench generate <model.gguf> <schema.json> <prompt> [--tokens 128] [--runs 3] [--threads 2]
//     End-to-end decode tok/s, free vs schema-constrained, alternating runs: prints the best
//     and median of each (greedy, the same prompt, free runs forced to the same length).
import BenchSupport
import Foundation
import PipelineModels
import PipelineTensor

let arguments = BenchArguments()
let positional = arguments.positional, options = arguments.options
guard let mode = positional.first else {
    FileHandle.standardError.write(Data("usage: grammar-bench masks|generate ...\n".utf8))
    exit(2)
}

/// This thread's CPU time in microseconds: per-mask figures unaffected by other processes on a
/// loaded machine (wall time would count their turns too).
func threadMicros() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) * 1e6 + Double(t.tv_nsec) / 1e3
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}

do {
    switch mode {
    case "masks":
        arguments.require(3, usage: "grammar-bench masks <model.gguf> <schema-corpus-folder> [--every 1] [--limit 0]")
        let gguf = try GGUFFile(path: positional[1])
        let tokenizer = try Tokenizers.load(gguf)
        let types = gguf["tokenizer.ggml.token_type"]?.array?.compactMap(\.int) ?? []
        let eos = Set([tokenizer.eos].compactMap { $0 }).union(tokenizer.endOfGeneration)
        let vocabulary = GrammarVocabulary(tokenizer: tokenizer, tokenTypes: types, endOfGeneration: eos)
        let folder = positional[2]
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".json") }.sorted()
        let every = max(1, options["every"] ?? 1), limit = options["limit"] ?? 0
        var times: [Double] = []
        var precompute: [Double] = []
        var parts = 0, lateParts = 0, stateWalks = 0
        var schemas = 0
        for (n, file) in files.enumerated() where n % every == 0 {
            if limit > 0 && schemas >= limit { break }
            let doc = try JSONValue(parsing: try String(contentsOfFile: folder + "/" + file, encoding: .utf8))
            guard let schema = doc["schema"], let grammar = try? JSONSchemaCompiler.grammar(for: schema),
                  let constraint = try? GrammarConstraint(grammar: grammar, vocabulary: vocabulary, partDepth: options["part-depth"] ?? 3,
                                                          precompute: (options["precompute"] ?? 1) != 0) else { continue }
            schemas += 1
            precompute.append(constraint.precomputeSeconds * 1e3)
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
                    if t > 1000 && ProcessInfo.processInfo.environment["GRAMMAR_BENCH_SLOW"] != nil {
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
        precompute.sort()
        print(String(format: "  precompute per schema (wall): parts=%d later_parts=%d state_walks=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f total_s=%.1f",
                     parts, lateParts, stateWalks, percentile(precompute, 0.5), percentile(precompute, 0.99), precompute.last ?? 0, precompute.reduce(0, +) / 1e3))
    case "generate":
        arguments.require(4, usage: "grammar-bench generate <model.gguf> <schema.json> <prompt> [--tokens 128] [--runs 3] [--threads 2]")
        let model = try LoadedModel(path: positional[1])
        model.model.threads = options["threads"] ?? 2
        let schema = try JSONValue(parsing: try String(contentsOfFile: positional[2], encoding: .utf8))
        let constraint = try GrammarConstraint(grammar: try JSONSchemaCompiler.grammar(for: schema), vocabulary: GrammarVocabulary.of(model))
        let tokens = options["tokens"] ?? 128
        let prompt = model.tokenizer.encode(positional[3])
        var free: [Double] = [], constrained: [Double] = []
        var constrainedTokens = 0
        for round in 0...arguments.runs {
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
    case "gbnf":
        // gbnf <schema.json>: the GBNF a schema compiles to (for llama.cpp in scripts/bench-grammar).
        arguments.require(2, usage: "grammar-bench gbnf <schema.json>")
        print(try JSONSchemaCompiler.gbnf(for: try JSONValue(parsing: try String(contentsOfFile: positional[1], encoding: .utf8))))
    case "samples":
        // samples <model.gguf> <schemas.json> <out.jsonl> [--per 10] [--tokens 256]: sampled outputs
        // (temperature 0.8, seeds 1...per) under each schema, one JSON line each, for
        // scripts/structured/validate-samples.py to parse and validate.
        arguments.require(4, usage: "grammar-bench samples <model.gguf> <schemas.json> <out.jsonl> [--per 10] [--tokens 256]")
        let model = try LoadedModel(path: positional[1])
        let list = try JSONValue(parsing: try String(contentsOfFile: positional[2], encoding: .utf8)).array ?? []
        let per = options["per"] ?? 10, tokens = options["tokens"] ?? 256
        var lines = ""
        for entry in list {
            guard let name = entry["name"]?.string, let schema = entry["schema"], let prompt = entry["prompt"]?.string else { continue }
            let constraint = try GrammarConstraint(grammar: try JSONSchemaCompiler.grammar(for: schema), vocabulary: GrammarVocabulary.of(model))
            let text = try model.chatTemplate!.render([
                ChatMessage(role: "system", content: "Answer with JSON only, matching this JSON Schema: " + schema.canonicalText),
                ChatMessage(role: "user", content: prompt),
            ])
            for seed in 1...per {
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
        try lines.write(toFile: positional[3], atomically: true, encoding: .utf8)
        print("wrote \(positional[3])")
    default:
        FileHandle.standardError.write(Data("grammar-bench: unknown mode \(mode)\n".utf8))
        exit(2)
    }
} catch {
    fail("grammar-bench", error)
}
