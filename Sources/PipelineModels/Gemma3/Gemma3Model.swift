import Foundation
import CKernels
import PipelineTensor

/// Hyper-parameters of a Gemma 3 decoder, from `gemma3.*` GGUF keys, with llama.cpp's
/// defaults where a key is absent.
public struct Gemma3Config: Sendable, Equatable, DecoderConfig {
    public let shape: DecoderShape
    /// RoPE base of the global layers (`rope.freq_base`) and of the sliding-window layers
    /// (`rope.freq_base_swa`, else 10000).
    public let ropeBase: Float
    public let ropeBaseLocal: Float
    /// Position scale of the global layers' RoPE (1 / `rope.scaling.factor` for linear scaling).
    public let ropeScale: Float
    /// Keys a sliding-window layer sees: positions p0 with p - p0 < window (0: no window).
    public let slidingWindow: Int
    /// Which layers use the sliding window (every layer but each 6th by default).
    public let sliding: [Bool]
    public let epsilon: Float
    /// Query scale: 1/sqrt(head size), or 1/sqrt(width / heads) for the 27B model (62 layers).
    public let attentionScale: Float
    /// Final logits soft cap (0: none).
    public let logitSoftcap: Float

    init(_ gguf: GGUFFile) throws {
        func value(_ key: String) -> GGUFValue? { gguf["gemma3.\(key)"] }
        let shape = try DecoderShape(gguf, architecture: "gemma3")
        self.shape = shape
        ropeBase = Float(value("rope.freq_base")?.float ?? 10_000)
        ropeBaseLocal = Float(value("rope.freq_base_swa")?.float ?? 10_000)
        switch value("rope.scaling.type")?.string ?? "none" {
        case "none": ropeScale = 1
        case "linear": ropeScale = 1 / Float(value("rope.scaling.factor")?.float ?? 1)
        case let other: throw ModelError.badValue(key: "gemma3.rope.scaling.type", why: "'\(other)' (none and linear are read)")
        }
        slidingWindow = value("attention.sliding_window")?.int ?? 0
        let layers = shape.layers
        if let pattern = value("attention.sliding_window_pattern") {
            if let flags = pattern.array {
                guard flags.count == layers else {
                    throw ModelError.badValue(key: "gemma3.attention.sliding_window_pattern", why: "\(flags.count) flags for \(layers) layers")
                }
                sliding = flags.map { $0 == .bool(true) }
            } else {
                let n = pattern.int ?? 6
                sliding = (0..<layers).map { n == 0 || $0 % n < n - 1 }
            }
        } else {
            sliding = (0..<layers).map { $0 % 6 < 5 }
        }
        epsilon = Float(value("attention.layer_norm_rms_epsilon")?.float ?? 1e-6)
        attentionScale = layers == 62 ? 1 / Float(shape.width / shape.heads).squareRoot() : 1 / Float(shape.headSize).squareRoot()
        logitSoftcap = Float(value("final_logit_softcapping")?.float ?? 0)
    }
}

/// A Gemma 3 decoder running on the GGUF's quantized weights, in llama.cpp's operation order:
/// embeddings scaled by sqrt(width); per block RMSNorm (the converter stored the weights
/// with Gemma's +1 folded in), Q/K/V, per-head RMSNorm of Q and K, RoPE on (first half,
/// second half) pairs with base 10000 on sliding-window layers and `rope.freq_base` on the
/// global ones (every 6th), Q scaled by 1/sqrt(head size), attention over an f16 KV cache
/// (keys outside the window masked), RMSNorm after the attention and after the GELU-gated
/// FFN (sandwich norms), residual adds; final RMSNorm and the tied output matrix.
public final class Gemma3Model: DecoderModel, @unchecked Sendable {
    public let file: GGUFFile
    public let config: Gemma3Config
    /// A block's shared tensors, and Gemma's norms of Q and K and after attention and FFN.
    struct Layer {
        let block: DecoderBlock
        let qNorm, kNorm, postAttnNorm, postFfnNorm: [Float]
    }
    let layers: [Layer]
    let embeddings: DecoderEmbeddings
    let norm: RMSNorm
    public var threads = WorkerPool.threads

    public init(file: GGUFFile) throws {
        let weights = try DecoderWeights(file: file, architecture: "gemma3")
        self.file = file
        let c = try Gemma3Config(file)
        config = c
        norm = RMSNorm(epsilon: c.epsilon)
        layers = try (0..<c.layers).map { i in
            Layer(
                block: try DecoderBlock(i, from: weights, c.shape),
                qNorm: try weights.vector("blk.\(i).attn_q_norm.weight", c.headSize),
                kNorm: try weights.vector("blk.\(i).attn_k_norm.weight", c.headSize),
                postAttnNorm: try weights.vector("blk.\(i).post_attention_norm.weight", c.width),
                postFfnNorm: try weights.vector("blk.\(i).post_ffw_norm.weight", c.width))
        }
        embeddings = try DecoderEmbeddings(from: weights, c.shape)
    }

    /// llama.cpp scales token embeddings (not raw input vectors) by sqrt(width).
    func embedding(of token: Int) throws -> [Float] {
        var e = try embeddings.tokens.row(token)
        let scale = Float(config.width).squareRoot()
        for i in e.indices { e[i] *= scale }
        return e
    }

    /// `b.positions` positions from `s.position` through every layer in llama.cpp's operation
    /// order; the last one's logits into `logits` when given.
    func forward(_ b: DecoderBuffers, session s: DecoderSession, logits: UnsafeMutablePointer<Float>?) {
        let c = config, n = b.positions, pos0 = s.position
        let w = c.width, qw = c.queryWidth, kvWidth = c.kvWidth, ff = c.ffnWidth, d = c.headSize
        let threads = self.threads
        let ropes = (0..<n).map { t in
            (local: Rope(headSize: d, base: c.ropeBaseLocal, position: pos0 + t),
             global: Rope(headSize: d, base: c.ropeBase, scale: c.ropeScale, position: pos0 + t))
        }
        s.dump("inp_scaled", b.x, n * w)
        let rows = DecoderBuffers.forRows
        let heads = c.heads, kvHeads = c.kvHeads, scale = c.attentionScale
        for (l, layer) in layers.enumerated() {
            let block = layer.block
            norm(b.x, block.attnNorm, into: b.h, rows: n, threads: threads)
            s.dump("attn_norm-\(l)", b.h, n * w)
            b.multiply([(block.wq, b.q), (block.wk, b.k), (block.wv, b.v)], input: b.h, count: n, threads: threads)
            norm(b.q, layer.qNorm, into: b.q, rows: n * heads, threads: threads)
            norm(b.k, layer.kNorm, into: b.k, rows: n * kvHeads, threads: threads)
            s.dump("Qcur_normed-\(l)", b.q, n * qw)
            s.dump("Kcur_normed-\(l)", b.k, n * kvWidth)
            rows(n, threads) { r in
                for t in r {
                    let qt = b.q + t * qw, kt = b.k + t * kvWidth
                    let rope = c.sliding[l] ? ropes[t].local : ropes[t].global
                    rope.rotate(qt, heads: heads, mode: .neox)
                    rope.rotate(kt, heads: kvHeads, mode: .neox)
                }
            }
            s.dump("Qcur-\(l)", b.q, n * qw)
            s.dump("Kcur-\(l)", b.k, n * kvWidth)
            s.dump("Vcur-\(l)", b.v, n * kvWidth)
            rows(n, threads) { r in for i in r.lowerBound * qw..<r.upperBound * qw { b.q[i] *= scale } }
            // The cache's arrays are mutated in place: one thread stores.
            for t in 0..<n { s.cache.store(layer: l, position: pos0 + t, keys: b.k + t * kvWidth, values: b.v + t * kvWidth) }
            s.cache.attend(layer: l, queries: b.q, heads: heads, count: n, from: pos0,
                           window: c.sliding[l] ? c.slidingWindow : 0, scale: 1, threads: threads, into: b.attention)
            s.dump("kqv_out-\(l)", b.attention, n * qw)
            b.multiply([(block.wo, b.projected)], input: b.attention, count: n, threads: threads)
            norm(b.projected, layer.postAttnNorm, into: b.projected, rows: n, threads: threads)
            s.dump("attn_post_norm-\(l)", b.projected, n * w)
            b.addToResidual(b.projected, threads: threads)
            s.dump("sa_out-\(l)", b.x, n * w)
            norm(b.x, block.ffnNorm, into: b.h, rows: n, threads: threads)
            s.dump("ffn_norm-\(l)", b.h, n * w)
            b.multiply([(block.gate, b.gate), (block.up, b.up)], input: b.h, count: n, threads: threads)
            rows(n, threads) { r in
                pl_geglu(b.gate + r.lowerBound * ff, b.up + r.lowerBound * ff, b.act + r.lowerBound * ff, Int32(r.count * ff))
            }
            s.dump("ffn_geglu-\(l)", b.act, n * ff)
            b.multiply([(block.down, b.down)], input: b.act, count: n, threads: threads)
            s.dump("ffn_out-\(l)", b.down, n * w)
            norm(b.down, layer.postFfnNorm, into: b.down, rows: n, threads: threads)
            s.dump("ffn_post_norm-\(l)", b.down, n * w)
            b.addToResidual(b.down, threads: threads)
            s.dump("l_out-\(l)", b.x, n * w)
        }
        guard let logits else { return }
        embeddings.logits(b, norm: norm, session: s, into: logits, threads: threads)
        softcap(logits, count: b.logitRows * c.vocabSize)
        s.dump("result_output", logits, c.vocabSize)
    }

    /// llama.cpp's logit soft cap: c * tanh(x / c), as three ops.
    func softcap(_ logits: UnsafeMutablePointer<Float>, count: Int) {
        let cap = config.logitSoftcap
        guard cap != 0 else { return }
        for i in 0..<count { logits[i] = tanhf(logits[i] * (1 / cap)) * cap }
    }
}
