import Foundation
import PipelineCore
import PipelineNodes
import PipelineTesting
import Testing

/// The golden made by scripts/continual/head_reference.py (numpy).
private struct HeadGolden: Decodable {
    struct Example: Decodable {
        let item: String
        let label: String?
        let features: [Float]
    }
    struct Scores: Decodable {
        let classes: [String]
        let scores: [[Double]]
    }
    struct RanPAC: Decodable {
        let classes: [String]
        let scores: [[Double]]
        let projection: Int
        let seed: Int
        let ridge: Double
        let w_first: [Float]
    }
    let examples: [Example]
    let queries: [Example]
    let ncm_cosine: Scores
    let ncm_mahalanobis: Scores
    let ncm_euclidean: Scores
    let ranpac: RanPAC

    static func load() throws -> HeadGolden {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/prototype-head.json")
        return try JSONDecoder().decode(HeadGolden.self, from: Data(contentsOf: url))
    }
}

private func features(_ v: [Float]) -> Value { .array(v.map { .double(Double($0)) }) }

/// Every class's score in a query record, by class name.
private func scoreMap(_ record: Value) -> [String: Double] {
    var out: [String: Double] = [:]
    for entry in record["scores"]?.arrayValue ?? [] {
        if let c = entry["class"]?.stringValue, let s = entry["score"]?.doubleValue { out[c] = s }
    }
    return out
}

@Suite("head.prototypes")
struct PrototypeHeadTests {
    @Test("scores match the numpy reference: NCM (cosine, Euclidean, Mahalanobis) and RanPAC",
          arguments: ["cosine", "euclidean", "mahalanobis", "ranpac"])
    func parity(_ variant: String) throws {
        let golden = try HeadGolden.load()
        let tmp = try TempDir()
        var options: [String: Value] = ["state": .string(tmp.path + "/head.state"), "top": 10]
        if variant == "ranpac" {
            options["method"] = "ranpac"
            options["projection"] = .int(golden.ranpac.projection)
            options["seed"] = .int(golden.ranpac.seed)
            options["ridge"] = .double(golden.ranpac.ridge)
        } else {
            options["metric"] = .string(variant)
        }
        let node = try NodeHarness(builtin("head.prototypes"), options: options)
        for e in golden.examples {
            let out = try node.process(features(e.features), item: e.item)
            #expect(out.first?.value["label"]?.stringValue == e.label)
        }
        let expected: HeadGolden.Scores = switch variant {
        case "cosine": golden.ncm_cosine
        case "euclidean": golden.ncm_euclidean
        case "mahalanobis": golden.ncm_mahalanobis
        default: HeadGolden.Scores(classes: golden.ranpac.classes, scores: golden.ranpac.scores)
        }
        // NCM: exact sums rounded to Double against numpy's float64 sums (Mahalanobis: our
        // Cholesky against numpy's inverse); RanPAC: the projection runs in Float32 (OpenBLAS)
        // against numpy's float64 product of the same float32 numbers.
        let tolerance = variant == "ranpac" ? 1e-4 : variant == "mahalanobis" ? 1e-8 : 1e-9
        for (q, row) in zip(golden.queries, expected.scores) {
            let record = try #require(try node.process(features(q.features), item: q.item).first?.value)
            let got = scoreMap(record)
            for (c, want) in zip(expected.classes, row) {
                let have = try #require(got[c], "no score for \(c)")
                #expect(abs(have - want) <= tolerance * max(1, abs(want)), "\(q.item) \(c): \(have) vs \(want)")
            }
            let best = zip(expected.classes, row).max { $0.1 < $1.1 }!.0
            #expect(record["class"]?.stringValue == best)
        }
    }

    @Test("the random projection is the reference's SplitMix64/Box-Muller matrix")
    func projectionMatchesReference() throws {
        let golden = try HeadGolden.load()
        let p = RandomProjection(inputs: golden.examples[0].features.count, outputs: golden.ranpac.projection, seed: UInt64(golden.ranpac.seed))
        #expect(Array(p.weights.prefix(golden.ranpac.w_first.count)) == golden.ranpac.w_first)
    }

    @Test("exact sums do not depend on the order of the additions")
    func exactSumOrder() {
        var rng = SplitMix(seed: 42)
        let vectors = (0..<200).map { k in
            (0..<33).map { j -> Float in
                let magnitude = Float(Double(rng.next() >> 11) / 9_007_199_254_740_992) * pow(10, Float((k + j) % 13) - 6)
                return rng.next() % 2 == 0 ? -magnitude : magnitude
            }
        }
        var a = ExactSum(dimension: 33), b = ExactSum(dimension: 33)
        for v in vectors { a.add(v) }
        var order = Array(vectors.indices)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        for i in order { b.add(vectors[i]) }
        #expect(a == b)
        var floatForward = [Float](repeating: 0, count: 33), floatShuffled = floatForward
        for v in vectors { for j in 0..<33 { floatForward[j] += v[j] } }
        for i in order { for j in 0..<33 { floatShuffled[j] += vectors[i][j] } }
        #expect(floatForward != floatShuffled, "the Float32 sums should depend on order (else this test shows nothing)")
        // Opposite values cancel to exactly zero; small and large values keep every bit.
        var c = ExactSum(dimension: 2)
        c.add([1e-30, 3e9])
        c.add([-1e-30, 1])
        #expect(c.value(at: 0) == 0)
        #expect(c.value(at: 1) == 3_000_000_001)
        c.add([.leastNonzeroMagnitude, -3e9])
        c.add([0, -1])
        #expect(c.value(at: 0) == Double(Float.leastNonzeroMagnitude))
        #expect(c.value(at: 1) == 0)
    }

    @Test("the state file survives a restart; a torn last record is cut")
    func restart() throws {
        let golden = try HeadGolden.load()
        let tmp = try TempDir()
        let state = tmp.path + "/head.state"
        let first = try NodeHarness(builtin("head.prototypes"), options: ["state": .string(state)])
        for e in golden.examples { _ = try first.process(features(e.features), item: e.item) }
        _ = try first.finish()
        let query = golden.queries[0]
        let before = try #require(try first.process(features(query.features), item: query.item).first?.value)
        // A half-written record at the end (a crash mid-append) is cut; the rest is kept.
        let handle = try #require(FileHandle(forWritingAtPath: state))
        handle.seekToEndOfFile()
        handle.write(Data(PrototypeExample(item: "x/inbox/circle/torn", label: "circle", features: [1, 2, 3]).encoded.prefix(20)))
        try handle.close()
        let warnings = Warnings()
        let second = try NodeHarness(builtin("head.prototypes"), options: ["state": .string(state)], context: warnings.context)
        let after = try #require(try second.process(features(query.features), item: query.item).first?.value)
        #expect(after["examples"] == .int(golden.examples.count))
        #expect(scoreMap(after) == scoreMap(before))
        #expect(warnings.all.contains { $0.contains("half-written") })
        // A damaged record in the middle is an error with its offset.
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: state)))
        bytes[30] ^= 0xff
        try Data(bytes).write(to: URL(fileURLWithPath: state))
        let third = try NodeHarness(builtin("head.prototypes"), options: ["state": .string(state)])
        #expect(throws: PrototypeHeadError.self) { try third.process(features(query.features), item: query.item) }
    }

    @Test("bad examples are per-item errors and the head stays usable")
    func badInput() throws {
        let tmp = try TempDir()
        let node = try NodeHarness(builtin("head.prototypes"), options: ["state": .string(tmp.path + "/head.state")])
        // A query before any class: a defined answer, no class.
        let empty = try #require(try node.process(features([1, 0, 0]), item: "q/first.png").first?.value)
        #expect(empty["class"] == .null)
        #expect(empty["classes"] == .int(0))
        // One example makes a class (its mean is that example).
        _ = try node.process(features([1, 0, 0]), item: "in/inbox/one/a.png")
        let cases: [(Value, String, String)] = [
            (features([1, 2, 3]), "in/inbox/bad*name/a.png", "not a class name"),
            (features([1, 2, 3]), "in/inbox/-dash/a.png", "starts with a letter or digit"),
            (features([1, 2]), "in/inbox/two/a.png", "2 numbers but the head holds 3"),
            (features([1, .nan, 3]), "in/inbox/two/b.png", "component 1 is nan"),
            (features([1, 2e12, 3]), "q/huge.png", "below 2^40"),
            (.string("not a vector"), "q/text.png", "expected a feature vector"),
        ]
        for (value, item, message) in cases {
            let error = #expect(throws: PrototypeHeadError.self) { try node.process(value, item: item) }
            #expect(error.map { "\($0)".contains(message) } == true, "\(item): \(String(describing: error))")
        }
        // A file directly in inbox/ is a query.
        #expect(try node.process(features([1, 0, 0]), item: "in/inbox/a.png").first?.value["class"] == "one")
        _ = try node.process(features([0, 1, 0]), item: "in/inbox/two/c.png")
        let record = try #require(try node.process(features([0.1, 0.9, 0]), item: "q/second.png").first?.value)
        #expect(record["class"] == "two")
        #expect(record["classes"] == .int(2))
        #expect(record["examples"] == .int(2))
        // Only the two good examples are in the state file.
        let decoded = try PrototypeExample.decode([UInt8](Data(contentsOf: URL(fileURLWithPath: tmp.path + "/head.state"))), path: "s")
        #expect(decoded.examples.map(\.label) == ["one", "two"])
        // A list of allowed classes refuses other folders.
        let strict = try NodeHarness(builtin("head.prototypes"), options: ["state": .string(tmp.path + "/strict.state"), "classes": ["cat", "dog"]])
        _ = try strict.process(features([1]), item: "inbox/cat/1.png")
        #expect(throws: PrototypeHeadError.self) { try strict.process(features([1]), item: "inbox/cow/1.png") }
    }
}
