import Foundation

/// A sentence-transformers text encoder on a BERT: WordPiece tokens, the encoder, mean pooling
/// over each text's tokens, then (by default) L2 normalisation — `all-MiniLM-L6-v2`'s
/// Transformer → Pooling(mean) → Normalize modules.
public final class SentenceEncoder: Sendable {
    public let folder: String
    public let tokenizer: WordPieceTokenizer
    public let model: BertModel

    /// The width of the embeddings.
    public var dimension: Int { model.config.hiddenSize }

    /// Loads a sentence-transformers folder: `config.json`, `model.safetensors`, `vocab.txt`,
    /// `tokenizer.json`, `sentence_bert_config.json`. Only mean pooling is implemented; a
    /// `1_Pooling/config.json` asking for another mode is refused. The encoder's linear layers
    /// compute in `precision` (`BertModel`).
    public init(folder: String, precision: LinearPrecision = .bfloat16) throws {
        self.folder = folder
        let pooling = folder + "/1_Pooling/config.json"
        if let data = FileManager.default.contents(atPath: pooling),
            let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
            json["pooling_mode_mean_tokens"] as? Bool == false
        {
            throw BertError.badConfig(path: pooling, reason: "only mean pooling (pooling_mode_mean_tokens) is supported")
        }
        model = try BertModel(folder: folder, precision: precision)
        tokenizer = try WordPieceTokenizer(folder: folder)
    }

    public init(tokenizer: WordPieceTokenizer, model: BertModel, folder: String = "") {
        self.folder = folder
        self.tokenizer = tokenizer
        self.model = model
    }

    /// The embeddings of `texts`, `batchSize` texts per forward pass, each `dimension` wide.
    public func embed(_ texts: [String], batchSize: Int = 32, normalize: Bool = true) throws -> [[Float]] {
        var result: [[Float]] = []
        result.reserveCapacity(texts.count)
        for start in stride(from: 0, to: texts.count, by: max(1, batchSize)) {
            let batch = tokenizer.encodeBatch(Array(texts[start..<min(texts.count, start + max(1, batchSize))]))
            result += try embed(batch, normalize: normalize)
        }
        return result
    }

    /// One embedding.
    public func embed(_ text: String, normalize: Bool = true) throws -> [Float] {
        try embed(tokenizer.encodeBatch([text]), normalize: normalize)[0]
    }

    /// The embeddings of a tokenized batch: the mean of each text's last hidden states over
    /// its attention mask, then L2-normalised when asked (norms below 1e-12 are clamped, as in
    /// PyTorch's `F.normalize`).
    public func embed(_ batch: TokenBatch, normalize: Bool = true) throws -> [[Float]] {
        let sequences = (0..<batch.count).map(batch.sequence)
        let hidden = try model.forward(sequences)
        let h = dimension
        var row = 0
        return sequences.map { sequence in
            var sum = [Double](repeating: 0, count: h)
            for _ in 0..<sequence.count {
                for c in 0..<h { sum[c] += Double(hidden[row * h + c]) }
                row += 1
            }
            let count = Double(max(sequence.count, 1))
            var mean = sum.map { $0 / count }
            if normalize {
                let norm = max(mean.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
                mean = mean.map { $0 / norm }
            }
            return mean.map(Float.init)
        }
    }

    /// Cosine similarity of two vectors of the same length (0 when either is zero).
    public static func cosine(_ a: [Float], _ b: [Float]) -> Float {
        var dot: Double = 0, na: Double = 0, nb: Double = 0
        for i in 0..<min(a.count, b.count) {
            dot += Double(a[i]) * Double(b[i])
            na += Double(a[i]) * Double(a[i])
            nb += Double(b[i]) * Double(b[i])
        }
        let denominator = (na * nb).squareRoot()
        return denominator > 0 ? Float(dot / denominator) : 0
    }
}
