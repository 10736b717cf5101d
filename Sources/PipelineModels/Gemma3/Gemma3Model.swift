import Foundation
import CKernels
import PipelineTensor

/// Hyper-parameters of a Gemma 3 decoder, from `gemma3.*` GGUF keys, with llama.cpp's
/// defaults where a key is absent.
public struct Gemma3Config: Sendable, Equatable, DecoderDimensions {
    public let layers: Int
    public let width: Int
    public let heads: Int
    public let kvHeads: Int
    public let headSize: Int
    public let ffnWidth: Int
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
    public let contextLength: Int
    public let vocabSize: Int

    init(_ gguf: GGUFFile) throws {
        func value(_ key: String) -> GGUFValue? { gguf["gemma3.\(key)"] }
        func int(_ key: String) throws -> Int {
            guard let v = value(key)?.int else { throw ModelError.missingKey("gemma3.\(key)") }
            guard v > 0 else { throw ModelError.badValue(key: "gemma3.\(key)", why: "must be positive, got \(v)") }
            return v
        }
        layers = try int("block_count")
        width = try int("embedding_length")
        heads = try int("attention.head_count")
        kvHeads = value("attention.head_count_kv")?.int ?? heads
        headSize = value("attention.key_length")?.int ?? width / heads
        if let v = value("attention.value_length")?.int, v != headSize {
            throw ModelError.badValue(key: "gemma3.attention.value_length", why: "\(v) differs from key_length \(headSize)")
        }
        guard kvHeads > 0, heads % kvHeads == 0, headSize % 32 == 0 else {
            throw ModelError.badValue(key: "gemma3.attention", why: "\(heads) heads, \(kvHeads) KV heads of size \(headSize)")
        }
        ffnWidth = try int("feed_forward_length")
        ropeBase = Float(value("rope.freq_base")?.float ?? 10_000)
        ropeBaseLocal = Float(value("rope.freq_base_swa")?.float ?? 10_000)
        switch value("rope.scaling.type")?.string ?? "none" {
        case "none": ropeScale = 1
        case "linear": ropeScale = 1 / Float(value("rope.scaling.factor")?.float ?? 1)
        case let other: throw ModelError.badValue(key: "gemma3.rope.scaling.type", why: "'\(other)' (none and linear are read)")
        }
        slidingWindow = value("attention.sliding_window")?.int ?? 0
        let layers = self.layers
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
        attentionScale = layers == 62 ? 1 / Float(width / heads).squareRoot() : 1 / Float(headSize).squareRoot()
        logitSoftcap = Float(value("final_logit_softcapping")?.float ?? 0)
        contextLength = try int("context_length")
        vocabSize = gguf["tokenizer.ggml.tokens"]?.array?.count ?? 0
    }
}

/// A Gemma 3 decoder running on the GGUF's quantized weights, in llama.cpp's operation order:
/// embeddings scaled by sqrt(width); per block RMSNorm (the converter stored the weights
/// with Gemma's +1 folded in), Q/K/V, per-head RMSNorm of Q and K, RoPE on (first half,
/// second half) pairs with base 10000 on sliding-window layers and `rope.freq_base` on the
/// global ones (every 6th), Q scaled by 1/sqrt(head size), attention over an f16 KV cache
/// (keys outside the window masked), RMSNorm after the attention and after the GELU-gated
/// FFN (sandwich norms), residual adds; final RMSNorm and the tied output matrix.
public final class Gemma3Model: LanguageModel, DecoderForward, @unchecked Sendable {
    public typealias Session = DecoderSession
    public let file: GGUFFile
    public let config: Gemma3Config
    struct Layer {
        let attnNorm, qNorm, kNorm, postAttnNorm: [Float]
        let wq, wk, wv, wo: QuantMatrix
        let ffnNorm, postFfnNorm: [Float]
        let gate, up, down: QuantMatrix
    }
    let layers: [Layer]
    let tokenEmbedding: QuantMatrix
    let output: QuantMatrix
    let outputNorm: [Float]
    let norm: RMSNorm
    public var threads = WorkerPool.threads

    public var contextLength: Int { config.contextLength }
    public var width: Int { config.width }
    public var vocabSize: Int { config.vocabSize }

    public init(file: GGUFFile) throws {
        guard file.architecture == "gemma3" else {
            throw ModelError.unsupportedArchitecture(file.architecture ?? "(none)", supported: ModelRegistry.supported)
        }
        self.file = file
        let c = try Gemma3Config(file)
        config = c
        norm = RMSNorm(epsilon: c.epsilon)
        let weights = DecoderWeights(file: file)
        let w = c.width, qw = c.queryWidth, kv = c.kvWidth, ff = c.ffnWidth
        layers = try (0..<c.layers).map { i in
            Layer(
                attnNorm: try weights.vector("blk.\(i).attn_norm.weight", w),
                qNorm: try weights.vector("blk.\(i).attn_q_norm.weight", c.headSize),
                kNorm: try weights.vector("blk.\(i).attn_k_norm.weight", c.headSize),
                postAttnNorm: try weights.vector("blk.\(i).post_attention_norm.weight", w),
                wq: try weights.matrix("blk.\(i).attn_q.weight", [w, qw]),
                wk: try weights.matrix("blk.\(i).attn_k.weight", [w, kv]),
                wv: try weights.matrix("blk.\(i).attn_v.weight", [w, kv]),
                wo: try weights.matrix("blk.\(i).attn_output.weight", [qw, w]),
                ffnNorm: try weights.vector("blk.\(i).ffn_norm.weight", w),
                postFfnNorm: try weights.vector("blk.\(i).post_ffw_norm.weight", w),
                gate: try weights.matrix("blk.\(i).ffn_gate.weight", [w, ff]),
                up: try weights.matrix("blk.\(i).ffn_up.weight", [w, ff]),
                down: try weights.matrix("blk.\(i).ffn_down.weight", [ff, w]))
        }
        tokenEmbedding = try weights.matrix("token_embd.weight", [w, c.vocabSize])
        output = try weights.optionalMatrix("output.weight", [w, c.vocabSize]) ?? tokenEmbedding
        outputNorm = try weights.vector("output_norm.weight", w)
    }

    public func makeSession() -> DecoderSession { DecoderSession(model: self, config: config) }

    /// llama.cpp scales token embeddings (not raw input vectors) by sqrt(width).
    func embedding(of token: Int) throws -> [Float] {
        var e = try tokenEmbedding.row(token)
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
        for (l, layer) in layers.enumerated() {
            norm(b.x, layer.attnNorm, into: b.h, rows: n)
            s.dump("attn_norm-\(l)", b.h, n * w)
            b.multiply([(layer.wq, b.q), (layer.wk, b.k), (layer.wv, b.v)], input: b.h, count: n, threads: threads)
            norm(b.q, layer.qNorm, into: b.q, rows: n * c.heads)
            norm(b.k, layer.kNorm, into: b.k, rows: n * c.kvHeads)
            s.dump("Qcur_normed-\(l)", b.q, n * qw)
            s.dump("Kcur_normed-\(l)", b.k, n * kvWidth)
            for t in 0..<n {
                let qt = b.q + t * qw, kt = b.k + t * kvWidth
                let rope = c.sliding[l] ? ropes[t].local : ropes[t].global
                rope.rotateHalves(qt, heads: c.heads)
                rope.rotateHalves(kt, heads: c.kvHeads)
            }
            s.dump("Qcur-\(l)", b.q, n * qw)
            s.dump("Kcur-\(l)", b.k, n * kvWidth)
            s.dump("Vcur-\(l)", b.v, n * kvWidth)
            for i in 0..<(n * qw) { b.q[i] *= c.attentionScale }
            for t in 0..<n {
                s.cache.store(layer: l, position: pos0 + t, keys: b.k + t * kvWidth, values: b.v + t * kvWidth)
            }
            s.cache.attend(layer: l, queries: b.q, heads: c.heads, count: n, from: pos0,
                           window: c.sliding[l] ? c.slidingWindow : 0, scale: 1, threads: threads, into: b.attention)
            s.dump("kqv_out-\(l)", b.attention, n * qw)
            b.multiply([(layer.wo, b.projected)], input: b.attention, count: n, threads: threads)
            norm(b.projected, layer.postAttnNorm, into: b.projected, rows: n)
            s.dump("attn_post_norm-\(l)", b.projected, n * w)
            for i in 0..<(n * w) { b.x[i] = b.projected[i] + b.x[i] }
            s.dump("sa_out-\(l)", b.x, n * w)
            norm(b.x, layer.ffnNorm, into: b.h, rows: n)
            s.dump("ffn_norm-\(l)", b.h, n * w)
            b.multiply([(layer.gate, b.gate), (layer.up, b.up)], input: b.h, count: n, threads: threads)
            pl_geglu(b.gate, b.up, b.act, Int32(n * ff))
            s.dump("ffn_geglu-\(l)", b.act, n * ff)
            b.multiply([(layer.down, b.down)], input: b.act, count: n, threads: threads)
            s.dump("ffn_out-\(l)", b.down, n * w)
            norm(b.down, layer.postFfnNorm, into: b.down, rows: n)
            s.dump("ffn_post_norm-\(l)", b.down, n * w)
            for i in 0..<(n * w) { b.x[i] = b.down[i] + b.x[i] }
            s.dump("l_out-\(l)", b.x, n * w)
        }
        guard let logits else { return }
        norm(b.x + (n - 1) * w, outputNorm, into: b.h)
        s.dump("result_norm", b.h, w)
        b.multiply([(output, logits)], input: b.h, count: 1, threads: threads)
        softcap(logits)
        s.dump("result_output", logits, c.vocabSize)
    }

    /// llama.cpp's logit soft cap: c * tanh(x / c), as three ops.
    func softcap(_ logits: UnsafeMutablePointer<Float>) {
        let cap = config.logitSoftcap
        guard cap != 0 else { return }
        for i in 0..<config.vocabSize { logits[i] = tanhf(logits[i] * (1 / cap)) * cap }
    }
}
