import Foundation
import CKernels
import PipelineTensor

/// Hyper-parameters of a Gemma 3 decoder, from `gemma3.*` GGUF keys, with llama.cpp's
/// defaults where a key is absent.
public struct Gemma3Config: Sendable, Equatable {
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
public final class Gemma3Model: LanguageModel, @unchecked Sendable {
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
        func tensor(_ name: String, _ shape: [Int]) throws -> GGUFTensorInfo {
            guard let t = file.tensor(named: name) else { throw ModelError.missingTensor(name) }
            guard t.dimensions == shape else { throw ModelError.badShape(tensor: name, expected: shape, got: t.dimensions) }
            return t
        }
        func matrix(_ name: String, _ shape: [Int]) throws -> QuantMatrix {
            let t = try tensor(name, shape)
            guard QuantizedDot.activationFormat(for: t.type) != nil, shape[0] % t.type.blockSize == 0 else {
                throw ModelError.badValue(key: name, why: "tensor type \(t.type) is not supported for matrix products")
            }
            return QuantMatrix(t, in: file)
        }
        func vector(_ name: String, _ n: Int) throws -> [Float] {
            let t = try tensor(name, [n])
            return try Dequantize.row(t.type, file.data(of: t).baseAddress!, count: n)
        }
        let w = c.width, qw = c.heads * c.headSize, kv = c.kvHeads * c.headSize, ff = c.ffnWidth
        layers = try (0..<c.layers).map { i in
            Layer(
                attnNorm: try vector("blk.\(i).attn_norm.weight", w),
                qNorm: try vector("blk.\(i).attn_q_norm.weight", c.headSize),
                kNorm: try vector("blk.\(i).attn_k_norm.weight", c.headSize),
                postAttnNorm: try vector("blk.\(i).post_attention_norm.weight", w),
                wq: try matrix("blk.\(i).attn_q.weight", [w, qw]),
                wk: try matrix("blk.\(i).attn_k.weight", [w, kv]),
                wv: try matrix("blk.\(i).attn_v.weight", [w, kv]),
                wo: try matrix("blk.\(i).attn_output.weight", [qw, w]),
                ffnNorm: try vector("blk.\(i).ffn_norm.weight", w),
                postFfnNorm: try vector("blk.\(i).post_ffw_norm.weight", w),
                gate: try matrix("blk.\(i).ffn_gate.weight", [w, ff]),
                up: try matrix("blk.\(i).ffn_up.weight", [w, ff]),
                down: try matrix("blk.\(i).ffn_down.weight", [ff, w]))
        }
        tokenEmbedding = try matrix("token_embd.weight", [w, c.vocabSize])
        output = file.tensor(named: "output.weight") != nil ? try matrix("output.weight", [w, c.vocabSize]) : tokenEmbedding
        outputNorm = try vector("output_norm.weight", w)
    }

    public func makeSession() -> Session { Session(model: self) }

    /// One sequence: its KV cache and the scratch one step reuses.
    public final class Session: LanguageModelSession {
        let model: Gemma3Model
        public private(set) var position = 0
        let cache: KVCache
        let x, h, q, k, v, attention, projected, gate, up, act, down, logits: UnsafeMutablePointer<Float>
        let activations: UnsafeMutableRawPointer
        public var trace: ((String, [Float]) -> Void)?

        init(model: Gemma3Model) {
            self.model = model
            let c = model.config
            cache = KVCache(layers: c.layers, width: c.kvHeads * c.headSize, headSize: c.headSize)
            func buffer(_ n: Int) -> UnsafeMutablePointer<Float> {
                let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
                p.initialize(repeating: 0, count: n)
                return p
            }
            let qw = c.heads * c.headSize, kv = c.kvHeads * c.headSize
            x = buffer(c.width); h = buffer(c.width); projected = buffer(c.width); down = buffer(c.width)
            q = buffer(qw); attention = buffer(qw); k = buffer(kv); v = buffer(kv)
            gate = buffer(c.ffnWidth); up = buffer(c.ffnWidth); act = buffer(c.ffnWidth)
            logits = buffer(c.vocabSize)
            activations = UnsafeMutableRawPointer.allocate(byteCount: Gemma3Model.activationBytes(c), alignment: 64)
        }

        deinit {
            for p in [x, h, q, k, v, attention, projected, gate, up, act, down, logits] { p.deallocate() }
            activations.deallocate()
        }

        public func step(_ token: Int) throws -> [Float] {
            guard (0..<model.config.vocabSize).contains(token) else {
                throw ModelError.badValue(key: "token", why: "id \(token) is outside the vocabulary (0..<\(model.config.vocabSize))")
            }
            var e = try model.tokenEmbedding.row(token)
            // llama.cpp scales token embeddings (not raw input vectors) by sqrt(width).
            let scale = Float(model.config.width).squareRoot()
            for i in e.indices { e[i] *= scale }
            return try step(embedding: e)
        }

        public func step(embedding: [Float]) throws -> [Float] {
            guard embedding.count == model.config.width else {
                throw ModelError.badShape(tensor: "input embedding", expected: [model.config.width], got: [embedding.count])
            }
            if position + 1 > cache.capacity { cache.grow(to: position + 1, keeping: position) }
            embedding.withUnsafeBufferPointer { x.update(from: $0.baseAddress!, count: $0.count) }
            model.forward(self)
            position += 1
            return Array(UnsafeBufferPointer(start: logits, count: model.config.vocabSize))
        }

        /// Feeds the prompt in chunks that share each weight read across positions; results
        /// are bit-identical to stepping, and logits are computed for the last token only.
        public func prefill(_ tokens: [Int]) throws -> [Float] {
            guard tokens.count > 1, trace == nil else {
                var logits: [Float] = []
                for token in tokens { logits = try step(token) }
                return logits
            }
            let c = model.config
            let scale = Float(c.width).squareRoot()
            var start = 0
            while start < tokens.count {
                let chunk = Array(tokens[start..<min(tokens.count, start + 32)])
                let inputs = try chunk.map { token -> [Float] in
                    guard (0..<c.vocabSize).contains(token) else {
                        throw ModelError.badValue(key: "token", why: "id \(token) is outside the vocabulary (0..<\(c.vocabSize))")
                    }
                    return try model.tokenEmbedding.row(token).map { $0 * scale }
                }
                if position + chunk.count > cache.capacity { cache.grow(to: position + chunk.count, keeping: position) }
                model.forwardBatch(inputs, session: self, logits: start + chunk.count == tokens.count)
                position += chunk.count
                start += chunk.count
            }
            return Array(UnsafeBufferPointer(start: logits, count: c.vocabSize))
        }
    }

    /// Scratch bytes for one quantized activation vector of any width the model multiplies.
    static func activationBytes(_ c: Gemma3Config) -> Int {
        let n = max(c.width, c.ffnWidth, c.heads * c.headSize)
        return n / 32 * 36 + n / 256 * 292 + 292
    }

    /// One decoding step at `s.position`, input in `s.x`, logits into `s.logits`.
    func forward(_ s: Session) {
        let c = config
        let pos = s.position
        let qw = c.heads * c.headSize, kvWidth = c.kvHeads * c.headSize
        func dump(_ name: String, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
            if let t = s.trace { t(name, Array(UnsafeBufferPointer(start: p, count: n))) }
        }
        let local = Rope(headSize: c.headSize, base: c.ropeBaseLocal, scale: 1, position: pos)
        let global = Rope(headSize: c.headSize, base: c.ropeBase, scale: c.ropeScale, position: pos)
        dump("inp_scaled", s.x, c.width)
        for (l, layer) in layers.enumerated() {
            rmsNorm(s.x, layer.attnNorm, into: s.h)
            dump("attn_norm-\(l)", s.h, c.width)
            multiply([(layer.wq, s.q), (layer.wk, s.k), (layer.wv, s.v)], input: s.h, session: s)
            for head in 0..<c.heads { rmsNorm(s.q + head * c.headSize, layer.qNorm, into: s.q + head * c.headSize) }
            for head in 0..<c.kvHeads { rmsNorm(s.k + head * c.headSize, layer.kNorm, into: s.k + head * c.headSize) }
            dump("Qcur_normed-\(l)", s.q, qw)
            dump("Kcur_normed-\(l)", s.k, kvWidth)
            let rope = c.sliding[l] ? local : global
            rope.apply(s.q, heads: c.heads)
            rope.apply(s.k, heads: c.kvHeads)
            dump("Qcur-\(l)", s.q, qw)
            dump("Kcur-\(l)", s.k, kvWidth)
            dump("Vcur-\(l)", s.v, kvWidth)
            for i in 0..<qw { s.q[i] *= c.attentionScale }
            s.cache.store(layer: l, position: pos, keys: s.k, values: s.v)
            s.cache.attend(layer: l, queries: s.q, heads: c.heads, count: 1, from: pos, window: c.sliding[l] ? c.slidingWindow : 0,
                           scale: 1, threads: threads, into: s.attention)
            dump("kqv_out-\(l)", s.attention, qw)
            multiply([(layer.wo, s.projected)], input: s.attention, session: s)
            rmsNorm(s.projected, layer.postAttnNorm, into: s.projected)
            dump("attn_post_norm-\(l)", s.projected, c.width)
            for i in 0..<c.width { s.x[i] = s.projected[i] + s.x[i] }
            dump("sa_out-\(l)", s.x, c.width)
            rmsNorm(s.x, layer.ffnNorm, into: s.h)
            dump("ffn_norm-\(l)", s.h, c.width)
            multiply([(layer.gate, s.gate), (layer.up, s.up)], input: s.h, session: s)
            pl_geglu(s.gate, s.up, s.act, Int32(c.ffnWidth))
            dump("ffn_geglu-\(l)", s.act, c.ffnWidth)
            multiply([(layer.down, s.down)], input: s.act, session: s)
            dump("ffn_out-\(l)", s.down, c.width)
            rmsNorm(s.down, layer.postFfnNorm, into: s.down)
            dump("ffn_post_norm-\(l)", s.down, c.width)
            for i in 0..<c.width { s.x[i] = s.down[i] + s.x[i] }
            dump("l_out-\(l)", s.x, c.width)
        }
        rmsNorm(s.x, outputNorm, into: s.h)
        dump("result_norm", s.h, c.width)
        multiply([(output, s.logits)], input: s.h, session: s)
        softcap(s.logits)
        dump("result_output", s.logits, c.vocabSize)
    }

    /// `inputs.count` consecutive positions from `s.position` through every layer, each
    /// operation as `forward` does it per position; logits (last position) if asked.
    func forwardBatch(_ inputs: [[Float]], session s: Session, logits wantLogits: Bool) {
        let c = config
        let n = inputs.count
        let w = c.width, qw = c.heads * c.headSize, kvWidth = c.kvHeads * c.headSize, ff = c.ffnWidth, d = c.headSize
        func buffer(_ count: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: count)
            p.initialize(repeating: 0, count: count)
            return p
        }
        let x = buffer(n * w), h = buffer(n * w), q = buffer(n * qw), k = buffer(n * kvWidth), v = buffer(n * kvWidth)
        let att = buffer(n * qw), proj = buffer(n * w), gate = buffer(n * ff), up = buffer(n * ff), act = buffer(n * ff)
        let down = buffer(n * w)
        let actBytes = Self.activationBytes(c)
        let acts = UnsafeMutableRawPointer.allocate(byteCount: n * actBytes, alignment: 64)
        defer {
            for p in [x, h, q, k, v, att, proj, gate, up, act, down] { p.deallocate() }
            acts.deallocate()
        }
        for (t, input) in inputs.enumerated() { input.withUnsafeBufferPointer { (x + t * w).update(from: $0.baseAddress!, count: w) } }
        func matmul(_ m: QuantMatrix, _ out: UnsafeMutablePointer<Float>, input: UnsafeMutablePointer<Float>, quantized: Bool = false) {
            let format = m.activationFormat
            let stride = m.columns / format.blockSize * format.blockBytes
            if !quantized {
                for t in 0..<n { QuantizedDot.fastQuantize(input + t * m.columns, count: m.columns, as: format, into: acts + t * stride) }
            }
            MatVec.run([(m, out)], activations: acts, threads: threads, columns: n, activationStride: stride, outputStride: m.rows)
        }
        let pos0 = s.position
        let ropes = (0..<n).map { t in
            (local: Rope(headSize: d, base: c.ropeBaseLocal, scale: 1, position: pos0 + t),
             global: Rope(headSize: d, base: c.ropeBase, scale: c.ropeScale, position: pos0 + t))
        }
        for (l, layer) in layers.enumerated() {
            for t in 0..<n { rmsNorm(x + t * w, layer.attnNorm, into: h + t * w) }
            // Q, K and V share the quantized input but have their own row counts (output strides).
            matmul(layer.wq, q, input: h)
            matmul(layer.wk, k, input: h, quantized: layer.wk.activationFormat == layer.wq.activationFormat)
            matmul(layer.wv, v, input: h, quantized: layer.wv.activationFormat == layer.wk.activationFormat
                   && layer.wk.activationFormat == layer.wq.activationFormat)
            for t in 0..<n {
                let pos = pos0 + t
                let qt = q + t * qw, kt = k + t * kvWidth
                for head in 0..<c.heads { rmsNorm(qt + head * d, layer.qNorm, into: qt + head * d) }
                for head in 0..<c.kvHeads { rmsNorm(kt + head * d, layer.kNorm, into: kt + head * d) }
                let rope = c.sliding[l] ? ropes[t].local : ropes[t].global
                rope.apply(qt, heads: c.heads)
                rope.apply(kt, heads: c.kvHeads)
                for i in 0..<qw { qt[i] *= c.attentionScale }
                s.cache.store(layer: l, position: pos, keys: kt, values: v + t * kvWidth)
            }
            s.cache.attend(layer: l, queries: q, heads: c.heads, count: n, from: pos0, window: c.sliding[l] ? c.slidingWindow : 0,
                           scale: 1, threads: threads, into: att)
            matmul(layer.wo, proj, input: att)
            for t in 0..<n { rmsNorm(proj + t * w, layer.postAttnNorm, into: proj + t * w) }
            for i in 0..<(n * w) { x[i] = proj[i] + x[i] }
            for t in 0..<n { rmsNorm(x + t * w, layer.ffnNorm, into: h + t * w) }
            matmul(layer.gate, gate, input: h)
            matmul(layer.up, up, input: h, quantized: layer.up.activationFormat == layer.gate.activationFormat)
            pl_geglu(gate, up, act, Int32(n * ff))
            matmul(layer.down, down, input: act)
            for t in 0..<n { rmsNorm(down + t * w, layer.postFfnNorm, into: down + t * w) }
            for i in 0..<(n * w) { x[i] = down[i] + x[i] }
        }
        if wantLogits {
            rmsNorm(x + (n - 1) * w, outputNorm, into: s.h)
            multiply([(output, s.logits)], input: s.h, session: s)
            softcap(s.logits)
        }
    }

    /// Quantizes `input` once and runs the matrices that share it.
    private func multiply(_ jobs: [(QuantMatrix, UnsafeMutablePointer<Float>)], input: UnsafeMutablePointer<Float>, session s: Session) {
        let m = jobs[0].0
        QuantizedDot.fastQuantize(input, count: m.columns, as: m.activationFormat, into: s.activations)
        MatVec.run(jobs, activations: s.activations, threads: threads)
    }

    /// llama.cpp's logit soft cap: c * tanh(x / c), as three ops.
    func softcap(_ logits: UnsafeMutablePointer<Float>) {
        let cap = config.logitSoftcap
        guard cap != 0 else { return }
        for i in 0..<config.vocabSize { logits[i] = tanhf(logits[i] * (1 / cap)) * cap }
    }

    /// ggml's RMSNorm fused with the weight: the mean square summed in double, then
    /// x * (1/sqrt(mean + eps)) * w. `out` may be `x`.
    func rmsNorm(_ x: UnsafeMutablePointer<Float>, _ weight: [Float], into out: UnsafeMutablePointer<Float>) {
        let n = weight.count
        var sum: Double = 0
        for i in 0..<n { sum += Double(x[i] * x[i]) }
        let inv = 1 / (Float(sum / Double(n)) + config.epsilon).squareRoot()
        for i in 0..<n { out[i] = x[i] * inv * weight[i] }
    }
}

/// RoPE in ggml's NEOX mode for one position: element i of each head pairs with element
/// i + d/2, rotated by pos * scale * base^(-2i/d); the angles are built by repeated products
/// and the rotation written with the fused multiply-adds GCC emits for ggml's rotate_pairs.
struct Rope {
    let cosines: [Float]
    let sines: [Float]

    init(headSize d: Int, base: Float, scale: Float, position: Int) {
        let thetaScale = powf(base, -2 / Float(d))
        var cosines = [Float](repeating: 0, count: d / 2), sines = cosines
        var theta = Float(position)
        for i in 0..<(d / 2) {
            let t = scale * theta
            cosines[i] = cosf(t)
            sines[i] = sinf(t)
            theta *= thetaScale
        }
        self.cosines = cosines
        self.sines = sines
    }

    func apply(_ x: UnsafeMutablePointer<Float>, heads: Int) {
        let half = cosines.count
        for head in 0..<heads {
            let p = x + head * 2 * half
            for i in 0..<half {
                let c = cosines[i], s = sines[i]
                let a = p[i], b = p[i + half]
                p[i] = (-(b * s)).addingProduct(a, c)
                p[i + half] = (b * c).addingProduct(a, s)
            }
        }
    }
}
