import Foundation
import PipelineTensor

/// A BERT encoder (Hugging Face `BertModel` semantics, eval mode) on safetensors weights.
///
/// The forward pass packs the texts of a batch end to end instead of padding them: the dense
/// layers run on real tokens only, and attention runs per text over its own tokens. That is
/// exactly what a padded batch with an attention mask computes for the real tokens (masked
/// keys get weight 0), minus the work on padding.
public final class BertModel: Sendable {
    public let config: BertConfig
    let embeddings: BertEmbeddings
    let layers: [BertLayer]

    /// Loads `config.json` and `model.safetensors` from a model folder.
    public convenience init(folder: String) throws {
        let config = try BertConfig(file: folder + "/config.json")
        try self.init(config: config, weights: try SafetensorsFile(path: folder + "/model.safetensors"))
    }

    /// Reads every tensor the config calls for, checking names and shapes. Tensors may carry
    /// a `bert.` prefix (checkpoints saved from a task model) or none.
    public init(config: BertConfig, weights: SafetensorsFile) throws {
        try config.check(path: weights.path)
        self.config = config
        let prefix = weights.tensors["bert.embeddings.word_embeddings.weight"] != nil ? "bert." : ""
        embeddings = try BertEmbeddings(weights, prefix: prefix, config: config)
        layers = try (0..<config.layerCount).map { i in
            try BertLayer(weights, prefix: prefix + "encoder.layer.\(i).", config: config)
        }
    }

    /// The last hidden states of every real token of every sequence, packed row-major
    /// `[Σ lengths, hiddenSize]` in input order. Token type ids are all 0.
    public func forward(_ sequences: [ArraySlice<Int32>]) throws(BertError) -> [Float] {
        let h = config.hiddenSize
        var offsets: [Int] = []
        var total = 0
        for sequence in sequences {
            guard sequence.count <= config.maxPositions else {
                throw .sequenceTooLong(length: sequence.count, maxPositions: config.maxPositions)
            }
            if let bad = sequence.first(where: { $0 < 0 || Int($0) >= config.vocabSize }) {
                throw .tokenOutOfRange(id: bad, vocabSize: config.vocabSize)
            }
            offsets.append(total)
            total += sequence.count
        }
        guard total > 0 else { return [] }

        var x = [Float](repeating: 0, count: total * h)
        var scratch = [Float](repeating: 0, count: total * h)
        var qkv = [Float](repeating: 0, count: total * 3 * h)
        var inner = [Float](repeating: 0, count: total * config.intermediateSize)
        embed(sequences, into: &x)
        for layer in layers {
            x.withUnsafeMutableBufferPointer { x in
                scratch.withUnsafeMutableBufferPointer { ctx in
                    qkv.withUnsafeMutableBufferPointer { qkv in
                        inner.withUnsafeMutableBufferPointer { inner in
                            run(
                                layer, x: x.baseAddress!, ctx: ctx.baseAddress!, qkv: qkv.baseAddress!,
                                inner: inner.baseAddress!, offsets: offsets, lengths: sequences.map(\.count))
                        }
                    }
                }
            }
        }
        return x
    }

    /// Sums word, position and token-type-0 embeddings, then applies the embedding LayerNorm.
    private func embed(_ sequences: [ArraySlice<Int32>], into x: inout [Float]) {
        let h = config.hiddenSize
        var row = 0
        for sequence in sequences {
            for (position, id) in sequence.enumerated() {
                let w = Int(id) * h, p = position * h, o = row * h
                for c in 0..<h {
                    x[o + c] = embeddings.word[w + c] + embeddings.position[p + c] + embeddings.tokenType[c]
                }
                row += 1
            }
        }
        x.withUnsafeMutableBufferPointer { embeddings.norm.apply($0.baseAddress!, rows: row) }
    }

    /// One encoder block in place on `x`.
    private func run(
        _ layer: BertLayer, x: UnsafeMutablePointer<Float>, ctx: UnsafeMutablePointer<Float>,
        qkv: UnsafeMutablePointer<Float>, inner: UnsafeMutablePointer<Float>, offsets: [Int], lengths: [Int]
    ) {
        let h = config.hiddenSize
        let rows = (offsets.last ?? 0) + (lengths.last ?? 0)
        layer.qkv.apply(x, rows: rows, into: qkv)
        attention(qkv: qkv, into: ctx, offsets: offsets, lengths: lengths)
        // x = LayerNorm(x + ctx · Woᵀ + bo): accumulate onto the residual held in x.
        layer.attentionOutput.apply(ctx, rows: rows, into: x, accumulate: true)
        layer.attentionNorm.apply(x, rows: rows)
        // x = LayerNorm(x + GELU(x · Wiᵀ + bi) · Wₒᵀ + bₒ)
        layer.intermediate.weight.withUnsafeBufferPointer { w in
            BLAS.gemmTransposedB(
                m: rows, n: config.intermediateSize, k: h, a: x, lda: h, b: w.baseAddress!, ldb: h, c: inner,
                ldc: config.intermediateSize)
        }
        layer.intermediate.bias.withUnsafeBufferPointer {
            EncoderOps.biasGELU(inner, rows: rows, cols: config.intermediateSize, bias: $0.baseAddress!)
        }
        layer.output.apply(inner, rows: rows, into: x, accumulate: true)
        layer.outputNorm.apply(x, rows: rows)
    }

    /// Scaled dot-product attention per sequence and head over the fused `[rows, 3h]` Q|K|V,
    /// writing each head's context into its column block of `ctx [rows, h]`. Sequences run in
    /// parallel; each works on its own rows.
    private func attention(qkv: UnsafeMutablePointer<Float>, into ctx: UnsafeMutablePointer<Float>, offsets: [Int], lengths: [Int]) {
        let h = config.hiddenSize, d = config.headSize, ld = 3 * h
        let scale = 1 / Float(d).squareRoot()
        let qkvAddress = UnsafeSendablePointer(qkv), ctxAddress = UnsafeSendablePointer(ctx)
        let longest = lengths.max() ?? 0
        DispatchQueue.concurrentPerform(iterations: offsets.count) { s in
            let n = lengths[s]
            guard n > 0 else { return }
            let base = qkvAddress.pointer + offsets[s] * ld
            let out = ctxAddress.pointer + offsets[s] * h
            withUnsafeTemporaryAllocation(of: Float.self, capacity: longest * longest) { scores in
                let p = scores.baseAddress!
                for head in 0..<config.headCount {
                    let q = base + head * d, k = base + h + head * d, v = base + 2 * h + head * d
                    BLAS.gemmTransposedB(m: n, n: n, k: d, alpha: scale, a: q, lda: ld, b: k, ldb: ld, c: p, ldc: n)
                    EncoderOps.softmaxRows(p, rows: n, cols: n, ld: n)
                    BLAS.gemm(m: n, n: d, k: n, a: p, lda: n, b: v, ldb: ld, c: out + head * d, ldc: h)
                }
            }
        }
    }
}

/// A raw pointer handed to parallel workers that touch disjoint parts of its memory.
private struct UnsafeSendablePointer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    init(_ pointer: UnsafeMutablePointer<Float>) { self.pointer = pointer }
}
