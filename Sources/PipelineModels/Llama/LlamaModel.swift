import Foundation
import CKernels
import PipelineTensor

/// Hyper-parameters of a llama-family decoder, from `llama.*` GGUF keys.
public struct LlamaConfig: Sendable, Equatable, DecoderConfig {
    public let shape: DecoderShape
    public let ropeBase: Float
    public let epsilon: Float

    init(_ gguf: GGUFFile) throws {
        shape = try DecoderShape(gguf, architecture: "llama")
        ropeBase = Float(gguf["llama.rope.freq_base"]?.float ?? 10_000)
        epsilon = Float(gguf["llama.attention.layer_norm_rms_epsilon"]?.float ?? 1e-5)
    }
}

/// A llama-architecture decoder (SmolLM2 and kin) running on the GGUF's quantized weights:
/// RMSNorm, RoPE on adjacent pairs (llama.cpp's NORM mode: the converter permuted Q and K),
/// grouped-query attention over an f16 KV cache (as llama.cpp keeps it), SwiGLU, tied output.
public final class LlamaModel: DecoderModel, @unchecked Sendable {
    public let file: GGUFFile
    public let config: LlamaConfig
    let layers: [DecoderBlock]
    let embeddings: DecoderEmbeddings
    let norm: RMSNorm
    public var threads = WorkerPool.threads

    public init(file: GGUFFile) throws {
        let weights = try DecoderWeights(file: file, architecture: "llama")
        self.file = file
        let c = try LlamaConfig(file)
        config = c
        norm = RMSNorm(epsilon: c.epsilon)
        layers = try (0..<c.layers).map { try DecoderBlock($0, from: weights, c.shape) }
        embeddings = try DecoderEmbeddings(from: weights, c.shape)
    }

    func embedding(of token: Int) throws -> [Float] { try embeddings.tokens.row(token) }

    /// `b.positions` positions from `s.position` through every layer in llama.cpp's operation
    /// order; the last one's logits into `logits` when given.
    func forward(_ b: DecoderBuffers, session s: DecoderSession, logits: UnsafeMutablePointer<Float>?) {
        let c = config, n = b.positions, pos0 = s.position
        let w = c.width, qw = c.queryWidth, kvWidth = c.kvWidth, ff = c.ffnWidth
        let threads = self.threads
        let scale = 1 / Float(c.headSize).squareRoot()
        let ropes = (0..<n).map { Rope(headSize: c.headSize, base: c.ropeBase, position: pos0 + $0) }
        let rows = DecoderBuffers.forRows
        for (l, layer) in layers.enumerated() {
            norm(b.x, layer.attnNorm, into: b.h, rows: n, threads: threads)
            s.dump("attn_norm-\(l)", b.h, n * w)
            b.multiply([(layer.wq, b.q), (layer.wk, b.k), (layer.wv, b.v)], input: b.h, count: n, threads: threads)
            rows(n, threads) { r in
                for t in r {
                    ropes[t].rotate(b.q + t * qw, heads: c.heads, mode: .norm)
                    ropes[t].rotate(b.k + t * kvWidth, heads: c.kvHeads, mode: .norm)
                }
            }
            // The cache's arrays are mutated in place: one thread stores.
            for t in 0..<n { s.cache.store(layer: l, position: pos0 + t, keys: b.k + t * kvWidth, values: b.v + t * kvWidth) }
            s.dump("Qcur-\(l)", b.q, n * qw)
            s.dump("Kcur-\(l)", b.k, n * kvWidth)
            s.dump("Vcur-\(l)", b.v, n * kvWidth)
            s.cache.attend(layer: l, queries: b.q, heads: c.heads, count: n, from: pos0, window: 0, scale: scale,
                           threads: threads, into: b.attention)
            s.dump("kqv_out-\(l)", b.attention, n * qw)
            b.multiply([(layer.wo, b.projected)], input: b.attention, count: n, threads: threads)
            b.addToResidual(b.projected, threads: threads)
            s.dump("ffn_inp-\(l)", b.x, n * w)
            norm(b.x, layer.ffnNorm, into: b.h, rows: n, threads: threads)
            b.multiply([(layer.gate, b.gate), (layer.up, b.up)], input: b.h, count: n, threads: threads)
            rows(n, threads) { r in
                pl_swiglu(b.gate + r.lowerBound * ff, b.up + r.lowerBound * ff, b.act + r.lowerBound * ff, Int32(r.count * ff))
            }
            b.multiply([(layer.down, b.down)], input: b.act, count: n, threads: threads)
            b.addToResidual(b.down, threads: threads)
            s.dump("ffn_out-\(l)", b.down, n * w)
            s.dump("l_out-\(l)", b.x, n * w)
        }
        guard let logits else { return }
        embeddings.logits(b, norm: norm, session: s, into: logits, threads: threads)
        s.dump("result_output", logits, c.vocabSize)
    }
}
