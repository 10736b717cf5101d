import Foundation
import PipelineCore
import PipelineModels
import Testing

@testable import PipelineNodes

/// The MiniLM folder, when present (CI fetches it: scripts/setup runs scripts/fetch-models).
let minilmPresent = FileManager.default.fileExists(
    atPath: ModelLocator.folder + "/all-MiniLM-L6-v2/model.safetensors") || ProcessInfo.processInfo.environment["CI"] != nil

@Suite("encoder.text and text.similarity", .serialized, .enabled(if: minilmPresent))
struct EncoderNodeTests {
    @Test("a text gives a 384-d unit embedding payload; format json gives numbers")
    func embeds() throws {
        let out = try NodeHarness(builtin("encoder.text")).process("A man is playing a guitar.", item: "g")
        let embedding = try #require({ () -> Embedding? in
            if case .payload(let p as Embedding) = out.first?.value { return p }
            return nil
        }())
        #expect(out.count == 1 && out[0].port == "embedding" && out[0].item == "g")
        #expect(embedding.vector.count == 384 && embedding.model == "all-MiniLM-L6-v2")
        #expect(abs(embedding.vector.reduce(0) { $0 + $1 * $1 } - 1) < 1e-4)
        let json = try NodeHarness(builtin("encoder.text"), options: ["format": "json"]).process("A man is playing a guitar.")
        #expect(json.first?.value.arrayValue?.count == 384)
    }

    @Test("a list of texts gives one packet per text, batch by batch, same as one by one")
    func list() throws {
        let node = try NodeHarness(builtin("encoder.text"), options: ["batch_size": 2])
        let texts: [Value] = ["one", "two words", "three little words"]
        let out = try node.process(.array(texts))
        #expect(out.map(\.sequence) == [0, 1, 2])
        let single = try node.process("two words")
        guard case .payload(let a as Embedding) = out[1].value, case .payload(let b as Embedding) = single[0].value else {
            Issue.record("expected embeddings")
            return
        }
        #expect(SentenceEncoder.cosine(a.vector, b.vector) > 0.99999)
        #expect(throws: NodeError.self) { try node.process(3) }
        #expect(throws: NodeError.self) { try node.process(.array([1])) }
    }

    @Test("N copies share one loaded model")
    func shared() throws {
        _ = try NodeHarness(builtin("encoder.text"))
        let before = SharedEncoders.loads
        DispatchQueue.concurrentPerform(iterations: 4) { copy in
            _ = try? NodeHarness(
                builtin("encoder.text"), context: NodeContext(nodeID: "embed", copy: copy))
        }
        _ = try NodeHarness(builtin("text.similarity"), options: ["references": ["x"]])
        #expect(SharedEncoders.loads == before)
    }

    @Test("precision: float32 and bfloat16 are separate shared models, within cosine 0.9999 of each other")
    func precision() throws {
        let text = "A lighthouse keeper counted ships every night."
        func vector(_ precision: String) throws -> [Float] {
            let out = try NodeHarness(builtin("encoder.text"), options: ["precision": .string(precision)]).process(.string(text))
            guard case .payload(let e as Embedding) = out.first?.value else { throw NodeError("no embedding") }
            return e.vector
        }
        let bf16 = try vector("bfloat16")
        let f32 = try vector("float32")
        let before = SharedEncoders.loads
        _ = try vector("float32")
        #expect(SharedEncoders.loads == before)
        #expect(SentenceEncoder.cosine(bf16, f32) > 0.9999)
        let path = try ModelLocator.resolve("all-MiniLM-L6-v2")
        let active = try SharedEncoders.encoder(at: path, precision: .bfloat16).model.activePrecision
        #expect(try SharedEncoders.encoder(at: path, precision: .float32).model.activePrecision == .float32)
        // BF16 arithmetic rounds the inputs and weights: on a CPU that runs it, the two differ.
        #expect((bf16 != f32) == (active == .bfloat16))
        #expect(throws: (any Error).self) { try NodeHarness(builtin("encoder.text"), options: ["precision": "half"]) }
    }

    @Test("similarity: top-k references for an embedding, a text or a number array")
    func similarity() throws {
        let references: Value = ["A man is playing an acoustic guitar on stage.", "The stock market fell sharply.", "Bread and baking."]
        let node = try NodeHarness(builtin("text.similarity"), options: ["references": references, "top_k": 2])
        let embedded = try NodeHarness(builtin("encoder.text")).process("A man is playing a guitar.")[0].value
        for query in [embedded, "A man is playing a guitar."] {
            let out = try node.process(query)
            let top = try #require(out.first?.value["top"]?.arrayValue)
            #expect(top.count == 2)
            #expect(top[0]["index"] == 0 && top[0]["text"] == references.arrayValue?[0])
            #expect((top[0]["score"]?.doubleValue ?? 0) > 0.6)
            #expect(out.first?.value["text"] == "A man is playing a guitar.")
        }
        let json = try NodeHarness(builtin("encoder.text"), options: ["format": "json"]).process("A man is playing a guitar.")[0].value
        #expect(try node.process(json).first?.value["top"]?.arrayValue?.first?["index"] == 0)
        let short = try #require(throws: NodeError.self) { try node.process([1, 2, 3]) }
        #expect(short.message.contains("384"))
    }

    @Test("similarity against a stored index: enveloped, bare and object lines; bad lines named by file:line")
    func storedIndex() throws {
        let texts = ["A man is playing an acoustic guitar on stage.", "The stock market fell sharply.", "Bread and baking."]
        let embed = try NodeHarness(builtin("encoder.text"), options: ["format": "json"])
        let vectors = try texts.map { try embed.process(.string($0))[0].value }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("index-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let lines: [Value] = [
            .object(["item": "songs.txt", "sequence": 4, "value": vectors[0]]),
            vectors[1],
            .object(["text": .string(texts[2]), "vector": vectors[2]]),
        ]
        let index = folder.appendingPathComponent("index.jsonl").path
        try (lines.map { $0.jsonString() }.joined(separator: "\n") + "\n\n").write(toFile: index, atomically: true, encoding: .utf8)
        let node = try NodeHarness(builtin("text.similarity"), options: ["index": .string(index), "top_k": 0])
        let top = try #require(try node.process("A man is playing a guitar.").first?.value["top"]?.arrayValue)
        #expect(top.count == 3)
        #expect(top[0]["index"] == 0 && top[0]["item"] == "songs.txt#4" && top[0]["text"] == nil)
        #expect((top[0]["score"]?.doubleValue ?? 0) > 0.6)
        let baking = try #require(try node.process("Baking bread at home.").first?.value["top"]?.arrayValue?.first)
        #expect(baking["index"] == 2 && baking["text"] == .string(texts[2]))
        // References come first, then the index.
        let both = try NodeHarness(builtin("text.similarity"), options: ["references": ["Bread and baking."], "index": .string(index)])
        let first = try #require(try both.process("Bread and baking.").first?.value["top"]?.arrayValue)
        #expect(first.count == 3 && first[0]["index"] == 0)

        for (content, expected) in [
            ("[1, 2]\n", "index.jsonl:1: the embedding has 2 numbers"),
            ("\(vectors[0].jsonString())\n{oops\n", "index.jsonl:2: not JSON"),
            ("{\"item\": \"a\"}\n", "index.jsonl:1: expected a number array"),
            ("[\"a\"]\n", "index.jsonl:1: expected numbers, found a string"),
            ("\n", "holds no embeddings"),
        ] {
            try content.write(toFile: index, atomically: true, encoding: .utf8)
            let error = try #require(throws: NodeError.self) { try NodeHarness(builtin("text.similarity"), options: ["index": .string(index)]) }
            #expect(error.message.contains(expected), "\(error.message)")
        }
        let missing = try #require(throws: NodeError.self) {
            try NodeHarness(builtin("text.similarity"), options: ["index": .string(folder.path + "/none.jsonl")])
        }
        #expect(missing.message.contains("none.jsonl"))
        let neither = try #require(throws: NodeError.self) { try NodeHarness(builtin("text.similarity")) }
        #expect(neither.message.contains("references") && neither.message.contains("index"))
    }

    @Test("an unknown model names the model folder")
    func unknownModel() throws {
        let error = try #require(throws: NodeError.self) {
            try NodeHarness(builtin("encoder.text"), options: ["model": "no-such-model"])
        }
        #expect(error.message.contains("no-such-model") && error.message.contains("fetch-models"))
    }
}
