import Foundation
import Testing

@testable import PipelineModels

/// The two GGUF decoders the prefix-reuse and scoring tests run on.
enum PrefixModels {
    static let smol = "SmolLM2-135M-Instruct.Q4_1.gguf"
    static let gemma = "gemma-3-270m-q4_k_m.gguf"

    /// True when the model is in the model folder, or in CI (where a missing one must fail).
    static func available(_ name: String) -> Bool {
        FileManager.default.fileExists(atPath: modelFolder + "/" + name) || ProcessInfo.processInfo.environment["CI"] != nil
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var loaded: [String: LoadedModel] = [:]

    /// The model loaded for `suite` alone (its prefix cache emptied), failing the test when the
    /// file is missing. Not `LoadedModel.shared`: suites run in parallel in one process, and
    /// one suite's prefix statistics must not see another's prompts.
    static func load(_ name: String, suite: String = #fileID) throws -> LoadedModel {
        let path = try #require(model(name), "model \(name) is missing from \(modelFolder)")
        let m = try lock.withLock {
            if let m = loaded[suite + "/" + name] { return m }
            let m = try LoadedModel(path: path)
            loaded[suite + "/" + name] = m
            return m
        }
        m.prefixes.reset()
        return m
    }

    /// A ~70-token shared instruction and three items, as a chat (SmolLM2) or plain text (Gemma 3, a base model).
    static func prompts(_ m: LoadedModel) throws -> [[Int]] {
        let instruction = """
            You are a careful assistant for a shop's review desk. Read the customer's review and answer with \
            one word: positive, negative or neutral. Do not explain. Reviews may be short, may mix languages, \
            and may be sarcastic; judge the writer's overall feeling about the product.
            """
        let items = ["The kettle boils fast and looks great.", "Broke after two days. Never again!", "It is a kettle."]
        return try items.map { item in
            if let template = m.chatTemplate {
                return m.tokenizer.encode(try template.render([
                    ChatMessage(role: "system", content: instruction), ChatMessage(role: "user", content: item),
                ]))
            }
            return m.tokenizer.encode(instruction + "\n\nReview: " + item + "\nAnswer:")
        }
    }

    /// Greedy ids after `logits` from `session`, `count` of them.
    static func greedy(_ session: any LanguageModelSession, after logits: [Float], count: Int) throws -> [Int] {
        var logits = logits, ids: [Int] = []
        while ids.count < count {
            ids.append(Sampler.argmax(logits))
            if ids.count < count { logits = try session.step(ids.last!) }
        }
        return ids
    }
}

@Suite("KV prefix reuse, bit for bit", .serialized)
struct PrefixReuseTests {
    static let models = [PrefixModels.smol, PrefixModels.gemma].filter(PrefixModels.available)

    /// A session restored from a snapshot taken after `cut` tokens and fed the rest gives the
    /// logits and greedy ids of one fed everything; cuts fall inside the chat template's tokens
    /// (`<|im_start|>system` is cut between its parts), at a chunk edge and one short of the end.
    @Test("restore a snapshot, feed the rest: same logits and greedy ids as a fresh session", arguments: models)
    func snapshotRestore(_ name: String) throws {
        let m = try PrefixModels.load(name)
        let tokens = try PrefixModels.prompts(m)[0]
        let fresh = m.model.makeSession()
        let expected = try fresh.prefill(tokens)
        let expectedIds = try PrefixModels.greedy(fresh, after: expected, count: 12)
        for cut in [1, 2, 3, DecoderSession.chunkSize, DecoderSession.chunkSize + 5, tokens.count - 1] {
            let first = m.model.makeSession()
            _ = try first.prefill(Array(tokens[..<cut]))
            let snapshot = first.snapshot()
            #expect(snapshot.positions == cut)
            let restored = m.model.makeSession()
            _ = try restored.prefill([1, 2, 3])  // stale state that restoring must replace
            try restored.restore(snapshot)
            let logits = try restored.prefill(Array(tokens[cut...]))
            #expect(logits == expected, "\(name), cut at \(cut) of \(tokens.count): logits differ")
            #expect(try PrefixModels.greedy(restored, after: logits, count: 12) == expectedIds, "\(name), cut \(cut)")
        }
    }

    /// Three prompts sharing an instruction through `LoadedModel.prefill(_:reuse:)`: the
    /// second keeps the shared prefix, the third starts from it; logits equal `.off`'s.
    @Test("automatic reuse across prompts: same logits, the shared prefix kept and reused", arguments: models)
    func automatic(_ name: String) throws {
        let m = try PrefixModels.load(name)
        let prompts = try PrefixModels.prompts(m)
        var reused: [Int] = []
        for tokens in prompts {
            let plain = try m.prefill(tokens, reuse: .off)
            let cached = try m.prefill(tokens, reuse: .automatic)
            #expect(cached.logits == plain.logits, "\(name): logits differ with reuse")
            #expect(try PrefixModels.greedy(cached.session, after: cached.logits, count: 8)
                    == PrefixModels.greedy(plain.session, after: plain.logits, count: 8))
            reused.append(cached.reusedTokens)
        }
        let shared = zip(prompts[0], prompts[1]).prefix { $0 == $1 }.count
        #expect(reused == [0, 0, shared], "\(name): reused \(reused), shared prefix \(shared)")
        #expect(m.prefixes.count == 1 && m.prefixes.statistics.hits == 1)
        // A prompt equal to a kept prefix is answered from it alone.
        let exact = try m.prefill(Array(prompts[0][..<shared]), reuse: .automatic)
        #expect(exact.reusedTokens == shared)
        #expect(exact.logits == (try m.prefill(Array(prompts[0][..<shared]), reuse: .off).logits))
    }

    @Test("generation with reuse gives the same greedy text as without", arguments: models)
    func generate(_ name: String) throws {
        let m = try PrefixModels.load(name)
        for tokens in try PrefixModels.prompts(m) {
            var request = GenerationRequest(prompt: tokens, maxTokens: 10)
            let plain = try m.generate(request)
            request.reuse = .prefix(tokens.count - 8)
            for _ in 0..<2 {  // the first keeps the prefix, the second starts from it
                let cached = try m.generate(request)
                #expect(cached.tokens == plain.tokens && cached.text == plain.text)
            }
        }
        #expect(m.prefixes.statistics.hits == 3)
    }

    @Test("logits at every position of a chunk equal single steps", arguments: models)
    func prefillAll(_ name: String) throws {
        let m = try PrefixModels.load(name)
        let tokens = Array(try PrefixModels.prompts(m)[1].prefix(DecoderSession.chunkSize + 7))
        let stepped = m.model.makeSession()
        let expected = try tokens.map(stepped.step)
        let rows = try m.model.makeSession().prefillAll(tokens)
        #expect(rows.count == tokens.count)
        for (i, row) in rows.enumerated() { #expect(row == expected[i], "\(name): position \(i) differs") }
    }
}

@Suite("Prefix cache bookkeeping")
struct PrefixCacheTests {
    static func entry(_ tokens: [Int], positions: Int) -> PrefixCache.Entry {
        let rows = [UInt16](repeating: 0, count: positions * 4)
        return PrefixCache.Entry(tokens: tokens, snapshot: KVSnapshot(positions: positions, width: 4, keys: [rows], values: [rows]),
                                 logits: [0, 0])
    }

    @Test("longest kept prefix wins; least recently used goes first when over budget")
    func lru() {
        let a = Self.entry([1, 2], positions: 2), b = Self.entry([1, 2, 3, 4], positions: 4), c = Self.entry([9], positions: 1)
        let cache = PrefixCache(budget: a.bytes + b.bytes + c.bytes - 1)
        cache.insert(a)
        cache.insert(b)
        #expect(cache.longest(prefixOf: [1, 2, 3, 4, 5])?.tokens == [1, 2, 3, 4])
        #expect(cache.longest(prefixOf: [1, 2, 3])?.tokens == [1, 2])  // a is now the most recent
        #expect(cache.longest(prefixOf: [7]) == nil)
        cache.insert(c)  // over budget: b, the least recently used, goes
        #expect(cache.count == 2 && cache.byteCount == a.bytes + c.bytes)
        #expect(cache.longest(prefixOf: [1, 2, 3, 4])?.tokens == [1, 2])
        #expect(cache.statistics == .init(hits: 3, misses: 1, reusedTokens: 8, stored: 3, evicted: 1))
        cache.insert(Self.entry(Array(0..<100), positions: 100))  // larger than the budget: not kept
        #expect(cache.count == 2)
    }

    @Test("the shared prefix with recent prompts")
    func recent() {
        let cache = PrefixCache(budget: 1 << 20)
        #expect(cache.sharedPrefixWithRecent([1, 2, 3, 4]) == 0)
        #expect(cache.sharedPrefixWithRecent([1, 2, 3, 9]) == 3)
        #expect(cache.sharedPrefixWithRecent([1, 5]) == 1)
        #expect(cache.sharedPrefixWithRecent([1, 2, 3, 4, 5]) == 4)
    }

    @Test("many threads hitting one cache")
    func concurrent() async {
        let cache = PrefixCache(budget: 1 << 20)
        await withTaskGroup(of: Void.self) { group in
            for t in 0..<8 {
                group.addTask {
                    for i in 0..<200 {
                        cache.insert(Self.entry([t, i % 5], positions: 3))
                        _ = cache.longest(prefixOf: [t, i % 5, 7])
                        _ = cache.sharedPrefixWithRecent([t, i])
                    }
                }
            }
        }
        #expect(cache.statistics.hits == 1600 && cache.count == 40)
    }
}
