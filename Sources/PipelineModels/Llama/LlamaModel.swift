import Foundation
import CKernels
import PipelineTensor

/// Hyper-parameters of a llama-family decoder, from `llama.*` GGUF keys.
public struct LlamaConfig: Sendable, Equatable, DecoderDimensions {
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
public final class LlamaModel: LanguageModel, DecoderForward, @unchecked Sendable {
    public typealias Session = DecoderSession
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
    let norm: RMSNorm
    public var threads = WorkerPool.threads

    public var contextLength: Int { config.contextLength }
    public var width: Int { config.width }
    public var vocabSize: Int { config.vocabSize }

    public init(file: GGUFFile) throws {
        guard let arch = file.architecture, arch == "llama" else {
            throw ModelError.unsupportedArchitecture(file.architecture ?? "(none)", supported: ModelRegistry.supported)
        }
        self.file = file
        let c = try LlamaConfig(file)
        config = c
        norm = RMSNorm(epsilon: c.epsilon)
        let weights = DecoderWeights(file: file)
        let w = c.width, qw = c.queryWidth, kv = c.kvWidth, ff = c.ffnWidth
        layers = try (0..<c.layers).map { i in
            Layer(
                attnNorm: try weights.vector("blk.\(i).attn_norm.weight", w),
                wq: try weights.matrix("blk.\(i).attn_q.weight", [w, qw]),
                wk: try weights.matrix("blk.\(i).attn_k.weight", [w, kv]),
                wv: try weights.matrix("blk.\(i).attn_v.weight", [w, kv]),
                wo: try weights.matrix("blk.\(i).attn_output.weight", [qw, w]),
                ffnNorm: try weights.vector("blk.\(i).ffn_norm.weight", w),
                gate: try weights.matrix("blk.\(i).ffn_gate.weight", [w, ff]),
                up: try weights.matrix("blk.\(i).ffn_up.weight", [w, ff]),
                down: try weights.matrix("blk.\(i).ffn_down.weight", [ff, w]))
        }
        tokenEmbedding = try weights.matrix("token_embd.weight", [w, c.vocabSize])
        output = try weights.optionalMatrix("output.weight", [w, c.vocabSize]) ?? tokenEmbedding
        outputNorm = try weights.vector("output_norm.weight", w)
    }

    public func makeSession() -> DecoderSession { DecoderSession(model: self, config: config) }

    func embedding(of token: Int) throws -> [Float] { try tokenEmbedding.row(token) }

    /// `b.positions` positions from `s.position` through every layer in llama.cpp's operation
    /// order; the last one's logits into `logits` when given.
    func forward(_ b: DecoderBuffers, session s: DecoderSession, logits: UnsafeMutablePointer<Float>?) {
        let c = config, n = b.positions, pos0 = s.position
        let w = c.width, qw = c.queryWidth, kvWidth = c.kvWidth, ff = c.ffnWidth
        let threads = self.threads
        let scale = 1 / Float(c.headSize).squareRoot()
        let ropes = (0..<n).map { Rope(headSize: c.headSize, base: c.ropeBase, position: pos0 + $0) }
        for (l, layer) in layers.enumerated() {
            norm(b.x, layer.attnNorm, into: b.h, rows: n)
            s.dump("attn_norm-\(l)", b.h, n * w)
            b.multiply([(layer.wq, b.q), (layer.wk, b.k), (layer.wv, b.v)], input: b.h, count: n, threads: threads)
            for t in 0..<n {
                ropes[t].rotateAdjacent(b.q + t * qw, heads: c.heads)
                ropes[t].rotateAdjacent(b.k + t * kvWidth, heads: c.kvHeads)
                s.cache.store(layer: l, position: pos0 + t, keys: b.k + t * kvWidth, values: b.v + t * kvWidth)
            }
            s.dump("Qcur-\(l)", b.q, n * qw)
            s.dump("Kcur-\(l)", b.k, n * kvWidth)
            s.dump("Vcur-\(l)", b.v, n * kvWidth)
            s.cache.attend(layer: l, queries: b.q, heads: c.heads, count: n, from: pos0, window: 0, scale: scale,
                           threads: threads, into: b.attention)
            s.dump("kqv_out-\(l)", b.attention, n * qw)
            b.multiply([(layer.wo, b.projected)], input: b.attention, count: n, threads: threads)
            for i in 0..<(n * w) { b.x[i] = b.projected[i] + b.x[i] }
            s.dump("ffn_inp-\(l)", b.x, n * w)
            norm(b.x, layer.ffnNorm, into: b.h, rows: n)
            b.multiply([(layer.gate, b.gate), (layer.up, b.up)], input: b.h, count: n, threads: threads)
            pl_swiglu(b.gate, b.up, b.act, Int32(n * ff))
            b.multiply([(layer.down, b.down)], input: b.act, count: n, threads: threads)
            for i in 0..<(n * w) { b.x[i] = b.down[i] + b.x[i] }
            s.dump("ffn_out-\(l)", b.down, n * w)
            s.dump("l_out-\(l)", b.x, n * w)
        }
        guard let logits else { return }
        norm(b.x + (n - 1) * w, outputNorm, into: b.h)
        b.multiply([(output, logits)], input: b.h, count: 1, threads: threads)
    }
}
