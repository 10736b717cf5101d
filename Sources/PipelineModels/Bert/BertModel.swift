import Foundation
import PipelineTensor

/// A BERT encoder (Hugging Face `BertModel` semantics, eval mode) on safetensors weights.
///
/// The forward pass packs the texts of a batch end to end instead of padding them: the dense
/// layers run on real tokens only, and attention runs per text over its own tokens. That is
/// exactly what a padded batch with an attention mask computes for the real tokens (masked
/// keys get weight 0), minus the work on padding.
///
/// The linear layers compute in `precision`: `.bfloat16` (the default) runs them on the
/// bfloat16 product where the CPU and the kernel path have it, float32 sgemm elsewhere.
public final class BertModel: Sendable {
    public let config: BertConfig
    let embeddings: BertEmbeddings
    let layers: [BertLayer]

    /// Loads `config.json` and `model.safetensors` from a model folder.
    public convenience init(folder: String, precision: LinearPrecision = .bfloat16) throws {
        let config = try BertConfig(file: folder + "/config.json")
        try self.init(config: config, weights: try SafetensorsFile(path: folder + "/model.safetensors"), precision: precision)
    }

    /// Reads every tensor the config calls for, checking names and shapes. Tensors may carry
    /// a `bert.` prefix (checkpoints saved from a task model) or none.
    public init(config: BertConfig, weights: SafetensorsFile, precision: LinearPrecision = .bfloat16) throws {
        try config.check(path: weights.path)
        self.config = config
        let prefix = weights.tensors["bert.embeddings.word_embeddings.weight"] != nil ? "bert." : ""
        embeddings = try BertEmbeddings(weights, prefix: prefix, config: config)
        layers = try (0..<config.layerCount).map { i in
            try BertLayer(weights, prefix: prefix + "encoder.layer.\(i).", config: config, precision: precision)
        }
    }

    /// The arithmetic the linear layers run in on the calling thread's kernel path: bfloat16
    /// only where `precision` asks for it and the CPU and the path run the bfloat16 product.
    public var activePrecision: LinearPrecision {
        layers.first?.qkv.bf16 != nil && BF16Weight.isActive ? .bfloat16 : .float32
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
        TransformerAttention.packedSelfAttention(
            qkv: qkv, width: h, heads: config.headCount, into: ctx, offsets: offsets, lengths: lengths)
        // x = LayerNorm(x + ctx · Woᵀ + bo): accumulate onto the residual held in x.
        layer.attentionOutput.apply(ctx, rows: rows, into: x, accumulate: true, norm: layer.attentionNorm)
        // x = LayerNorm(x + GELU(x · Wiᵀ + bi) · Wₒᵀ + bₒ)
        layer.intermediate.applyGELU(x, rows: rows, into: inner)
        layer.output.apply(inner, rows: rows, into: x, accumulate: true, norm: layer.outputNorm)
    }
}
