import Foundation
import Testing

@testable import PipelineModels

/// all-MiniLM-L6-v2 against sentence-transformers (PyTorch, fp32) on the same weights
/// (Golden/minilm/embeddings.json, scripts/encoder-reference/minilm-goldens.py).
/// Tolerance: cosine ≥ 0.9999 with the reference per sentence (the golden values are rounded
/// to 6 decimals; float32 summation order differs between OpenBLAS and PyTorch), in both
/// precisions of the linear layers: bfloat16 (run where the CPU has AVX512_BF16, float32
/// elsewhere) holds the same tolerance.
@Suite("MiniLM encoder against sentence-transformers", .serialized, .enabled(if: minilmAvailable))
struct MiniLMParityTests {
    static let encoders: [LinearPrecision: SentenceEncoder] = minilmFolder().map { folder in
        Dictionary(uniqueKeysWithValues: LinearPrecision.allCases.compactMap { precision in
            (try? SentenceEncoder(folder: folder, precision: precision)).map { (precision, $0) }
        })
    } ?? [:]
    static var encoder: SentenceEncoder? { encoders[.bfloat16] }

    @Test("every golden sentence, in one batch and one by one", arguments: LinearPrecision.allCases)
    func parity(precision: LinearPrecision) throws {
        let encoder = try #require(Self.encoders[precision])
        let golden = try MiniLMGolden.load(MiniLMGolden.Embeddings.self, "embeddings")
        let texts = golden.sentences.map(\.text)
        let batched = try encoder.embed(texts, batchSize: 32)
        var worst: Float = 1
        var maxDiff: Float = 0
        for (i, sentence) in golden.sentences.enumerated() {
            #expect(batched[i].count == 384)
            let cosine = SentenceEncoder.cosine(batched[i], sentence.embedding)
            worst = min(worst, cosine)
            maxDiff = max(maxDiff, zip(batched[i], sentence.embedding).map { abs($0 - $1) }.max() ?? 0)
            #expect(cosine >= 0.9999, "\(sentence.text.prefix(40).debugDescription): cosine \(cosine)")
            let single = try encoder.embed(sentence.text)
            #expect(SentenceEncoder.cosine(single, batched[i]) >= 0.99999, "batch and single differ for \(i)")
            let norm = batched[i].reduce(0) { $0 + $1 * $1 }.squareRoot()
            #expect(abs(norm - 1) < 1e-4)
        }
        print("minilm parity (\(encoder.model.activePrecision)): worst cosine with sentence-transformers over \(texts.count) sentences = \(worst), max |difference| = \(maxDiff)")
    }

    @Test("similar sentences are close, unrelated ones are not")
    func similarity() throws {
        let encoder = try #require(Self.encoder)
        let e = try encoder.embed([
            "A man is playing a guitar.", "A man is playing an acoustic guitar on stage.",
            "The stock market fell sharply on Tuesday as investors worried about rates.",
        ])
        #expect(SentenceEncoder.cosine(e[0], e[1]) > 0.6)
        #expect(abs(SentenceEncoder.cosine(e[0], e[2])) < 0.2)
    }
}
