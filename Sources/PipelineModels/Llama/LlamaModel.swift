import Foundation
import CKernels
import PipelineTensor

/// Hyper-parameters of a llama-family decoder, from `llama.*` GGUF keys.
public struct LlamaConfig: Sendable, Equatable {
    public let layers: Int
    public let width: Int
    public let heads: Int
    public let kvHeads: Int
    public let headSize: Int
    public let ffnWidth: Int
    public let ropeBase: Float
    public let epsilon: Float
    public let contextLength: Int
    public let vocabSize: Int

    init(_ gguf: GGUFFile) throws {
        func int(_ key: String) throws -> Int {
            guard let v = gguf["llama.\(key)"]?.int else { throw ModelError.missingKey("llama.\(key)") }
            return v
        }
        layers = try int("block_count")
        width = try int("embedding_length")
        heads = try int("attention.head_count")
        kvHeads = gguf["llama.attention.head_count_kv"]?.int ?? heads
        headSize = width / heads
        ffnWidth = try int("feed_forward_length")
        ropeBase = Float(gguf["llama.rope.freq_base"]?.float ?? 10_000)
        epsilon = Float(gguf["llama.attention.layer_norm_rms_epsilon"]?.float ?? 1e-5)
        contextLength = try int("context_length")
        vocabSize = gguf["tokenizer.ggml.tokens"]?.array?.count ?? 0
    }
}

/// A llama-architecture decoder (SmolLM2 and kin) running on the GGUF's quantized weights:
/// RMSNorm, RoPE on adjacent pairs (llama.cpp's NORM mode: the converter permuted Q and K),
/// grouped-query attention over an f16 KV cache (as llama.cpp keeps it), SwiGLU, tied output.
public final class LlamaModel: @unchecked Sendable {
    public let file: GGUFFile
    public let config: LlamaConfig
    struct Layer {
        let attnNorm: [Float]
        let wq, wk, wv, wo: QuantMatrix
        let ffnNorm: [Float]
        let gate, up, down: QuantMatrix
    }
    let layers: [Layer]
    let tokenEmbedding: QuantMatrix
    let output: QuantMatrix
    let outputNorm: [Float]
    public var threads = WorkerPool.threads

    public init(file: GGUFFile) throws {
        guard let arch = file.architecture, arch == "llama" else {
            throw ModelError.unsupportedArchitecture(file.architecture ?? "(none)", supported: ModelRegistry.supported)
        }
        self.file = file
        let config = try LlamaConfig(file)
        self.config = config
        func tensor(_ name: String, _ shape: [Int]) throws -> GGUFTensorInfo {
            guard let t = file.tensor(named: name) else { throw ModelError.missingTensor(name) }
            guard t.dimensions == shape else { throw ModelError.badShape(tensor: name, expected: shape, got: t.dimensions) }
            return t
        }
        func matrix(_ name: String, _ shape: [Int]) throws -> QuantMatrix { QuantMatrix(try tensor(name, shape), in: file) }
        func vector(_ name: String, _ n: Int) throws -> [Float] {
            let t = try tensor(name, [n])
            return try Dequantize.row(t.type, file.data(of: t).baseAddress!, count: n)
        }
        let w = config.width, kv = config.kvHeads * config.headSize, ff = config.ffnWidth
        layers = try (0..<config.layers).map { i in
            Layer(
                attnNorm: try vector("blk.\(i).attn_norm.weight", w),
                wq: try matrix("blk.\(i).attn_q.weight", [w, w]),
                wk: try matrix("blk.\(i).attn_k.weight", [w, kv]),
                wv: try matrix("blk.\(i).attn_v.weight", [w, kv]),
                wo: try matrix("blk.\(i).attn_output.weight", [w, w]),
                ffnNorm: try vector("blk.\(i).ffn_norm.weight", w),
                gate: try matrix("blk.\(i).ffn_gate.weight", [w, ff]),
                up: try matrix("blk.\(i).ffn_up.weight", [w, ff]),
                down: try matrix("blk.\(i).ffn_down.weight", [ff, w]))
        }
        tokenEmbedding = try matrix("token_embd.weight", [w, config.vocabSize])
        output = file.tensor(named: "output.weight") != nil
            ? try matrix("output.weight", [w, config.vocabSize]) : tokenEmbedding
        outputNorm = try vector("output_norm.weight", w)
    }

    /// Per-sequence state: the KV cache as llama.cpp keeps it without flash attention (f16
    /// keys by position; f16 values transposed, one row per head dimension, zero past the end)
    /// and the scratch buffers one step reuses.
    public final class Session {
        let model: LlamaModel
        public private(set) var position = 0
        /// Positions the cache holds before it grows.
        private(set) var capacity = 0
        var keys: [[UInt16]]
        var values: [[UInt16]]
        // Scratch, allocated once per session.
        let x, h, q, k, v, attention, projected, gate, up, act, down, logits: UnsafeMutablePointer<Float>
        let activations: UnsafeMutableRawPointer
        var attentionScratch: [Float] = []
        /// Attention scratch areas, one per thread of the worker pool.
        let attentionWorkers = WorkerPool.threads
        /// Receives named intermediates (llama.cpp's callback names) when set: for debugging parity.
        public var trace: ((String, [Float]) -> Void)?

        init(model: LlamaModel) {
            self.model = model
            let c = model.config
            keys = Array(repeating: [], count: c.layers)
            values = Array(repeating: [], count: c.layers)
            let kv = c.kvHeads * c.headSize
            func buffer(_ n: Int) -> UnsafeMutablePointer<Float> {
                let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
                p.initialize(repeating: 0, count: n)
                return p
            }
            x = buffer(c.width); h = buffer(c.width); attention = buffer(c.heads * c.headSize)
            projected = buffer(c.width); down = buffer(c.width)
            q = buffer(c.heads * c.headSize); k = buffer(kv); v = buffer(kv)
            gate = buffer(c.ffnWidth); up = buffer(c.ffnWidth); act = buffer(c.ffnWidth)
            logits = buffer(c.vocabSize)
            activations = UnsafeMutableRawPointer.allocate(byteCount: max(c.width, c.ffnWidth, c.heads * c.headSize) / 32 * 292, alignment: 64)
            grow(to: 256)
        }

        deinit {
            for p in [x, h, q, k, v, attention, projected, gate, up, act, down, logits] { p.deallocate() }
            activations.deallocate()
        }

        /// Re-lays the cache for at least `positions` positions (values are stored transposed,
        /// so their row stride is the capacity).
        func grow(to positions: Int) {
            let c = model.config
            let newCapacity = max(positions, capacity * 2)
            let kv = c.kvHeads * c.headSize
            for l in 0..<c.layers {
                keys[l] += [UInt16](repeating: 0, count: (newCapacity - capacity) * kv)
                var t = [UInt16](repeating: 0, count: newCapacity * kv)
                for row in 0..<kv {
                    for p in 0..<position { t[row * newCapacity + p] = values[l][row * capacity + p] }
                }
                values[l] = t
            }
            capacity = newCapacity
            attentionScratch = .init(repeating: 0, count: attentionWorkers * (2 * ((newCapacity + 31) / 32 * 32) + c.headSize))
        }

        /// Feeds one token at the next position and returns the logits for the token after it.
        public func step(_ token: Int) throws -> [Float] {
            try step(embedding: try model.tokenEmbedding.row(token))
        }

        /// Feeds an input vector in place of a token's embedding (`width` floats): the way
        /// other modalities' features (a fusion node's projected patches) enter the model.
        public func step(embedding: [Float]) throws -> [Float] {
            guard embedding.count == model.config.width else {
                throw ModelError.badShape(tensor: "input embedding", expected: [model.config.width], got: [embedding.count])
            }
            if position + 1 > capacity { grow(to: position + 1) }
            embedding.withUnsafeBufferPointer { x.update(from: $0.baseAddress!, count: $0.count) }
            model.forward(self)
            position += 1
            return Array(UnsafeBufferPointer(start: logits, count: model.config.vocabSize))
        }

        /// Feeds the prompt and returns the logits after its last token. Tokens go through the
        /// layers in chunks, each weight row read once per chunk; every result is bit-identical
        /// to feeding them one at a time, and logits are computed for the last token only.
        public func prefill(_ tokens: [Int]) throws -> [Float] {
            guard tokens.count > 1, trace == nil else {
                var logits: [Float] = []
                for token in tokens { logits = try step(token) }
                return logits
            }
            var start = 0
            while start < tokens.count {
                let chunk = Array(tokens[start..<min(tokens.count, start + 32)])
                let inputs = try chunk.map { try model.tokenEmbedding.row($0) }
                if position + chunk.count > capacity { grow(to: position + chunk.count) }
                model.forwardBatch(inputs, session: self, logits: start + chunk.count == tokens.count)
                position += chunk.count
                start += chunk.count
            }
            return Array(UnsafeBufferPointer(start: logits, count: model.config.vocabSize))
        }
    }

    public func makeSession() -> Session { Session(model: self) }

    /// One decoding step at `session.position`, input in `session.x`, logits into `session.logits`,
    /// in llama.cpp's operation order.
    func forward(_ s: Session) {
        let c = config
        let pos = s.position
        let kvWidth = c.kvHeads * c.headSize
        let threads = self.threads
        for (l, layer) in layers.enumerated() {
            rmsNorm(s.x, layer.attnNorm, into: s.h)
            multiply([(layer.wq, s.q), (layer.wk, s.k), (layer.wv, s.v)], input: s.h, session: s, threads: threads)
            if let t = s.trace { t("attn_norm-\(l)", Array(UnsafeBufferPointer(start: s.h, count: c.width))) }
            rope(s.q, heads: c.heads, position: pos)
            rope(s.k, heads: c.kvHeads, position: pos)
            if let t = s.trace {
                t("Qcur-\(l)", Array(UnsafeBufferPointer(start: s.q, count: c.heads * c.headSize)))
                t("Kcur-\(l)", Array(UnsafeBufferPointer(start: s.k, count: kvWidth)))
                t("Vcur-\(l)", Array(UnsafeBufferPointer(start: s.v, count: kvWidth)))
            }
            let capacity = s.capacity
            s.keys[l].withUnsafeMutableBufferPointer { keys in
                for i in 0..<kvWidth { keys[pos * kvWidth + i] = Float16(s.k[i]).bitPattern }
            }
            s.values[l].withUnsafeMutableBufferPointer { values in
                for i in 0..<kvWidth { values[i * capacity + pos] = Float16(s.v[i]).bitPattern }
            }
            attend(s, layer: l, queries: s.q, count: 1, from: pos, into: s.attention)
            if let t = s.trace { t("kqv_out-\(l)", Array(UnsafeBufferPointer(start: s.attention, count: c.width))) }
            multiply([(layer.wo, s.projected)], input: s.attention, session: s, threads: threads)
            for i in 0..<c.width { s.x[i] = s.projected[i] + s.x[i] }
            if let t = s.trace { t("ffn_inp-\(l)", Array(UnsafeBufferPointer(start: s.x, count: c.width))) }
            rmsNorm(s.x, layer.ffnNorm, into: s.h)
            multiply([(layer.gate, s.gate), (layer.up, s.up)], input: s.h, session: s, threads: threads)
            pl_swiglu(s.gate, s.up, s.act, Int32(c.ffnWidth))
            multiply([(layer.down, s.down)], input: s.act, session: s, threads: threads)
            for i in 0..<c.width { s.x[i] = s.down[i] + s.x[i] }
            if let t = s.trace {
                t("ffn_out-\(l)", Array(UnsafeBufferPointer(start: s.down, count: c.width)))
                t("l_out-\(l)", Array(UnsafeBufferPointer(start: s.x, count: c.width)))
            }
        }
        rmsNorm(s.x, outputNorm, into: s.h)
        multiply([(output, s.logits)], input: s.h, session: s, threads: threads)
    }

    /// `inputs.count` consecutive positions from `session.position` through every layer, the
    /// matrix products sharing weight reads across the chunk; logits (last position) if asked.
    func forwardBatch(_ inputs: [[Float]], session s: Session, logits wantLogits: Bool) {
        let c = config
        let n = inputs.count
        let w = c.width, qw = c.heads * c.headSize, kvWidth = c.kvHeads * c.headSize, ff = c.ffnWidth
        func buffer(_ count: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: count)
            p.initialize(repeating: 0, count: count)
            return p
        }
        let x = buffer(n * w), h = buffer(n * w), q = buffer(n * qw), k = buffer(n * kvWidth), v = buffer(n * kvWidth)
        let att = buffer(n * qw), proj = buffer(n * w), gate = buffer(n * ff), up = buffer(n * ff), act = buffer(n * ff)
        let down = buffer(n * w)
        let actBytes = max(w, ff, qw) / 32 * 36
        let acts = UnsafeMutableRawPointer.allocate(byteCount: n * actBytes, alignment: 64)
        defer {
            for p in [x, h, q, k, v, att, proj, gate, up, act, down] { p.deallocate() }
            acts.deallocate()
        }
        for (t, input) in inputs.enumerated() { input.withUnsafeBufferPointer { (x + t * w).update(from: $0.baseAddress!, count: w) } }
        func matmul(_ jobs: [(QuantMatrix, UnsafeMutablePointer<Float>)], input: UnsafeMutablePointer<Float>, inputWidth: Int) {
            let m = jobs[0].0
            let format = m.activationFormat
            let stride = m.columns / format.blockSize * format.blockBytes
            for t in 0..<n { QuantizedDot.fastQuantize(input + t * inputWidth, count: m.columns, as: format, into: acts + t * stride) }
            MatVec.run(jobs, activations: acts, threads: threads, columns: n, activationStride: stride,
                       outputStride: jobs[0].0.rows)
        }
        let pos0 = s.position
        for (l, layer) in layers.enumerated() {
            for t in 0..<n { rmsNorm(x + t * w, layer.attnNorm, into: h + t * w) }
            // Q, K and V have different row counts, so each gets its own pass (their outputs
            // are per-position rows of their own width).
            matmul([(layer.wq, q)], input: h, inputWidth: w)
            matmul([(layer.wk, k)], input: h, inputWidth: w)
            matmul([(layer.wv, v)], input: h, inputWidth: w)
            let capacity = s.capacity
            for t in 0..<n {
                let pos = pos0 + t
                rope(q + t * qw, heads: c.heads, position: pos)
                rope(k + t * kvWidth, heads: c.kvHeads, position: pos)
                s.keys[l].withUnsafeMutableBufferPointer { keys in
                    pl_f32_to_f16(k + t * kvWidth, keys.baseAddress! + pos * kvWidth, Int32(kvWidth), 1)
                }
                s.values[l].withUnsafeMutableBufferPointer { values in
                    pl_f32_to_f16(v + t * kvWidth, values.baseAddress! + pos, Int32(kvWidth), Int32(capacity))
                }
            }
            attend(s, layer: l, queries: q, count: n, from: pos0, into: att)
            matmul([(layer.wo, proj)], input: att, inputWidth: qw)
            for i in 0..<(n * w) { x[i] = proj[i] + x[i] }
            for t in 0..<n { rmsNorm(x + t * w, layer.ffnNorm, into: h + t * w) }
            matmul([(layer.gate, gate)], input: h, inputWidth: w)
            matmul([(layer.up, up)], input: h, inputWidth: w)
            pl_swiglu(gate, up, act, Int32(n * ff))
            matmul([(layer.down, down)], input: act, inputWidth: ff)
            for i in 0..<(n * w) { x[i] = down[i] + x[i] }
        }
        if wantLogits {
            rmsNorm(x + (n - 1) * w, outputNorm, into: s.h)
            multiply([(output, s.logits)], input: s.h, session: s, threads: threads)
        }
    }

    /// Attention of `count` consecutive query positions (from `first`, queries and outputs one
    /// row of heads × head size each) over layer `l`'s cache, which already holds them. The
    /// (position, head) pairs are spread over the worker pool, each worker with its own
    /// scratch; every pair is computed exactly as one at a time would.
    func attend(_ s: Session, layer l: Int, queries q: UnsafeMutablePointer<Float>, count: Int, from first: Int,
                into out: UnsafeMutablePointer<Float>) {
        let c = config
        let kvWidth = c.kvHeads * c.headSize, qw = c.heads * c.headSize
        let group = c.heads / c.kvHeads
        let scale = 1 / Float(c.headSize).squareRoot()
        let capacity = s.capacity
        let pairs = count * c.heads
        let tasks = min(threads, s.attentionWorkers, pairs)
        let perTask = s.attentionScratch.count / s.attentionWorkers
        s.keys[l].withUnsafeBufferPointer { keys in
            s.values[l].withUnsafeBufferPointer { values in
                s.attentionScratch.withUnsafeMutableBufferPointer { scratch in
                    let keys = keys.baseAddress!, values = values.baseAddress!, scratch = scratch.baseAddress!
                    WorkerPool.run(tasks: tasks) { task in
                        // Interleaved, so later (longer) positions are shared out evenly.
                        for pair in stride(from: task, to: pairs, by: tasks) {
                            let t = pair / c.heads, head = pair % c.heads
                            let kvHead = head / group
                            pl_attention_head(
                                q + t * qw + head * c.headSize, keys + kvHead * c.headSize, Int32(kvWidth),
                                values + kvHead * c.headSize * capacity, Int32(capacity), Int32(first + t + 1),
                                Int32(c.headSize), scale, out + t * qw + head * c.headSize, scratch + task * perTask)
                        }
                    }
                }
            }
        }
    }

    /// Quantizes `input` once and runs the matrices that share it in one dispatch.
    private func multiply(_ jobs: [(QuantMatrix, UnsafeMutablePointer<Float>)], input: UnsafeMutablePointer<Float>, session s: Session, threads: Int) {
        let m = jobs[0].0
        QuantizedDot.fastQuantize(input, count: m.columns, as: m.activationFormat, into: s.activations)
        MatVec.run(jobs, activations: s.activations, threads: threads)
    }

    func rmsNorm(_ x: UnsafeMutablePointer<Float>, _ weight: [Float], into out: UnsafeMutablePointer<Float>) {
        let n = weight.count
        var sum: Double = 0  // ggml accumulates the mean square in double
        for i in 0..<n { sum += Double(x[i] * x[i]) }
        let inv = 1 / (Float(sum / Double(n)) + config.epsilon).squareRoot()
        for i in 0..<n { out[i] = x[i] * inv * weight[i] }
    }

    /// Rotates adjacent pairs (x[2i], x[2i+1]) of each head by pos * base^(-2i/d).
    func rope(_ x: UnsafeMutablePointer<Float>, heads: Int, position: Int) {
        let d = config.headSize
        // ggml's angles: theta_i = pos * scale^i with scale = base^(-2/d), built by repeated products.
        let thetaScale = powf(config.ropeBase, -2 / Float(d))
        var thetas = [Float](repeating: 0, count: d / 2)
        var theta = Float(position)
        for i in 0..<(d / 2) {
            thetas[i] = theta
            theta *= thetaScale
        }
        for head in 0..<heads {
            for i in stride(from: 0, to: d, by: 2) {
                let theta = thetas[i / 2]
                let (s, c) = (sinf(theta), cosf(theta))
                let a = x[head * d + i], b = x[head * d + i + 1]
                // llama.cpp's C is built with FMA contraction: a*c - b*s becomes fma(a, c, -(b*s)).
                x[head * d + i] = (-(b * s)).addingProduct(a, c)
                x[head * d + i + 1] = (b * c).addingProduct(a, s)
            }
        }
    }
}
