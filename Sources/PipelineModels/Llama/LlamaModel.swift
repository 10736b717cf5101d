import Foundation
import PipelineTensor

/// Why a model could not be built from a file.
public enum ModelError: Error, Sendable, CustomStringConvertible {
    case unsupportedArchitecture(String, supported: [String])
    case missingKey(String)
    case missingTensor(String)
    case badShape(tensor: String, expected: [Int], got: [Int])

    public var description: String {
        switch self {
        case let .unsupportedArchitecture(arch, supported):
            return "architecture '\(arch)' is not supported (supported: \(supported.joined(separator: ", ")))"
        case .missingKey(let key): return "the model file has no '\(key)'"
        case .missingTensor(let name): return "the model file has no tensor '\(name)'"
        case let .badShape(tensor, expected, got): return "tensor '\(tensor)' has shape \(got), expected \(expected)"
        }
    }
}

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
    public var threads = ProcessInfo.processInfo.activeProcessorCount

    public init(file: GGUFFile) throws {
        guard let arch = file.architecture, arch == "llama" else {
            throw ModelError.unsupportedArchitecture(file.architecture ?? "(none)", supported: ["llama"])
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

    /// Per-sequence state: the KV cache, stored as f16 like llama.cpp's default cache.
    public final class Session {
        let model: LlamaModel
        var keys: [[Float16]]
        var values: [[Float16]]
        public private(set) var position = 0

        init(model: LlamaModel) {
            self.model = model
            keys = Array(repeating: [], count: model.config.layers)
            values = Array(repeating: [], count: model.config.layers)
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
            let logits = model.forward(embedding, position: position, session: self)
            position += 1
            return logits
        }

        /// Feeds the prompt and returns the logits after its last token.
        public func prefill(_ tokens: [Int]) throws -> [Float] {
            var logits: [Float] = []
            for token in tokens { logits = try step(token) }
            return logits
        }
    }

    public func makeSession() -> Session { Session(model: self) }

    func forward(_ input: [Float], position pos: Int, session: Session) -> [Float] {
        let c = config
        var x = input
        let kvWidth = c.kvHeads * c.headSize
        let group = c.heads / c.kvHeads
        let scale = 1 / Float(c.headSize).squareRoot()
        for (l, layer) in layers.enumerated() {
            let h = rmsNorm(x, layer.attnNorm)
            var q = layer.wq.multiply(h, threads: threads)
            var k = layer.wk.multiply(h, threads: threads)
            let v = layer.wv.multiply(h, threads: threads)
            rope(&q, heads: c.heads, position: pos)
            rope(&k, heads: c.kvHeads, position: pos)
            session.keys[l] += k.map { Float16($0) }
            session.values[l] += v.map { Float16($0) }
            var attention = [Float](repeating: 0, count: c.width)
            let steps = pos + 1
            session.keys[l].withUnsafeBufferPointer { keys in
                session.values[l].withUnsafeBufferPointer { values in
                    var scores = [Float](repeating: 0, count: steps)
                    for head in 0..<c.heads {
                        let kvHead = head / group
                        let qOff = head * c.headSize
                        var maxScore = -Float.infinity
                        for t in 0..<steps {
                            let kOff = t * kvWidth + kvHead * c.headSize
                            var s: Float = 0
                            for d in 0..<c.headSize { s += q[qOff + d] * Float(keys[kOff + d]) }
                            scores[t] = s * scale
                            maxScore = max(maxScore, scores[t])
                        }
                        var sum: Float = 0
                        for t in 0..<steps {
                            scores[t] = expf(scores[t] - maxScore)
                            sum += scores[t]
                        }
                        for t in 0..<steps {
                            let p = scores[t] / sum
                            let vOff = t * kvWidth + kvHead * c.headSize
                            for d in 0..<c.headSize { attention[qOff + d] += p * Float(values[vOff + d]) }
                        }
                    }
                }
            }
            let projected = layer.wo.multiply(attention, threads: threads)
            for i in 0..<c.width { x[i] += projected[i] }
            let h2 = rmsNorm(x, layer.ffnNorm)
            let gate = layer.gate.multiply(h2, threads: threads)
            let up = layer.up.multiply(h2, threads: threads)
            var act = [Float](repeating: 0, count: c.ffnWidth)
            for i in 0..<c.ffnWidth { act[i] = gate[i] / (1 + expf(-gate[i])) * up[i] }
            let down = layer.down.multiply(act, threads: threads)
            for i in 0..<c.width { x[i] += down[i] }
        }
        return output.multiply(rmsNorm(x, outputNorm), threads: threads)
    }

    func rmsNorm(_ x: [Float], _ weight: [Float]) -> [Float] {
        var sum: Double = 0  // ggml accumulates the mean square in double
        for v in x { sum += Double(v * v) }
        let inv = 1 / (Float(sum / Double(x.count)) + config.epsilon).squareRoot()
        return (0..<x.count).map { x[$0] * inv * weight[$0] }
    }

    /// Rotates adjacent pairs (x[2i], x[2i+1]) of each head by pos * base^(-2i/d).
    func rope(_ x: inout [Float], heads: Int, position: Int) {
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
                x[head * d + i] = a * c - b * s
                x[head * d + i + 1] = a * s + b * c
            }
        }
    }
}
