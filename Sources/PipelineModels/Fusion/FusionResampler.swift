import Foundation
import PipelineTensor

/// One resampler layer: pre-norm multi-head cross-attention of the queries to the tokens, then
/// a pre-norm MLP (Linear → GELU → Linear), each added to the queries through an optional tanh
/// gate as in Flamingo: `x += tanh(gate) · f(x)` (without gates: `x += f(x)`).
struct FusionResamplerLayer: Sendable {
    let normQ: TransformerLayerNorm
    let normKV: TransformerLayerNorm
    let normMLP: TransformerLayerNorm
    let q, k, v, o, fc1, fc2: TransformerLinear
    /// tanh of the attention and MLP gates; nil without gates.
    let gates: (attention: Float, mlp: Float)?

    init(_ file: SafetensorsFile, index i: Int, dim: Int) throws {
        let p = "layers.\(i)."
        normQ = try TransformerLayerNorm(file, p + "norm_q", size: dim, eps: 1e-5)
        normKV = try TransformerLayerNorm(file, p + "norm_kv", size: dim, eps: 1e-5)
        normMLP = try TransformerLayerNorm(file, p + "norm_mlp", size: dim, eps: 1e-5)
        q = try TransformerLinear(file, p + "q", out: dim, in: dim)
        k = try TransformerLinear(file, p + "k", out: dim, in: dim)
        v = try TransformerLinear(file, p + "v", out: dim, in: dim)
        o = try TransformerLinear(file, p + "o", out: dim, in: dim)
        guard let hidden = file.tensors[p + "fc1.weight"]?.shape.first else {
            throw FusionError.badWeights(path: file.path, reason: "no tensor '\(p)fc1.weight'")
        }
        fc1 = try TransformerLinear(file, p + "fc1", out: hidden, in: dim)
        fc2 = try TransformerLinear(file, p + "fc2", out: dim, in: hidden)
        if file.tensors[p + "attn_gate"] != nil || file.tensors[p + "mlp_gate"] != nil {
            let a = try file.floats(p + "attn_gate", shape: [1])[0], m = try file.floats(p + "mlp_gate", shape: [1])[0]
            gates = (tanh(a), tanh(m))
        } else {
            gates = nil
        }
    }
}

/// A Perceiver-style resampler (Flamingo, Q-Former): a fixed number of learned queries
/// cross-attend to the tokens through N pre-norm layers, so any number of tokens (one image,
/// several `image.tiles` tiles, a larger input) becomes the same number of prefix vectors.
///
/// tokens → `input` Linear(in → dim) → layers on the queries → `norm_out` LayerNorm →
/// `output` Linear(dim → width). safetensors names (float32, PyTorch layout; the state dict of
/// `scripts/fusion/fusion_common.py`'s `Resampler`): `input.{weight,bias}`, `queries [Q, dim]`,
/// `layers.N.{norm_q,norm_kv,norm_mlp}.{weight,bias}`, `layers.N.{q,k,v,o,fc1,fc2}.{weight,bias}`,
/// `layers.N.{attn_gate,mlp_gate} [1]` (gated layers only), `norm_out.{weight,bias}`,
/// `output.{weight,bias}`; the head count is the metadata key `heads`. LayerNorm ε is 1e-5.
/// With `position [tokens, dim]`, a learned vector per input token is added after `input` (so
/// the queries can tell the tokens' places apart), and the token count must be that many.
public struct FusionResampler: FusionConnector {
    public let path: String
    let input: TransformerLinear
    let queries: [Float]
    /// Learned per-token vectors `[positions, dim]`, or nil.
    let position: LearnedPositions?
    let layers: [FusionResamplerLayer]
    let normOut: TransformerLayerNorm
    let output: TransformerLinear
    public let heads: Int
    /// The number of queries: how many vectors every call returns.
    public let queryCount: Int
    let dim: Int

    public var inputWidth: Int { input.inFeatures }
    public var outputWidth: Int { output.outFeatures }
    public var inputWeightShape: [Int] { [input.outFeatures, input.inFeatures] }
    public var outputWeightShape: [Int] { [output.outFeatures, output.inFeatures] }
    /// Whether the layers add through tanh gates.
    public var gated: Bool { layers.first?.gates != nil }
    /// How many tokens the learned positions cover (0 without them).
    public var positions: Int { position?.count ?? 0 }

    /// Loads the weights; `heads` overrides the file's `heads` metadata.
    public init(path: String, heads: Int? = nil) throws {
        let file = try SafetensorsFile(path: path)
        self.path = path
        guard let q = file.tensors["queries"], q.shape.count == 2, q.shape[0] > 0, q.shape[1] > 0,
              let w = file.tensors["input.weight"], w.shape.count == 2, let out = file.tensors["output.weight"], out.shape.count == 2
        else {
            throw FusionError.badWeights(path: path, reason: "a resampler needs 2-d queries, input.weight and output.weight")
        }
        dim = q.shape[1]
        queryCount = q.shape[0]
        guard let h = heads ?? file.metadata["heads"].flatMap({ Int($0) }), h > 0, dim % h == 0 else {
            throw FusionError.badWeights(path: path, reason: "the head count (metadata 'heads': \(file.metadata["heads"] ?? "none")) must divide the width \(dim)")
        }
        self.heads = h
        input = try TransformerLinear(file, "input", out: dim, in: w.shape[1])
        queries = try file.floats("queries", shape: [queryCount, dim])
        position = try LearnedPositions(file, width: dim, expected: "the queries' width")
        var count = 0
        while file.tensors["layers.\(count).q.weight"] != nil { count += 1 }
        guard count > 0 else { throw FusionError.badWeights(path: path, reason: "no layers (layers.0.q.weight)") }
        let width = q.shape[1]
        let layers = try (0..<count).map { try FusionResamplerLayer(file, index: $0, dim: width) }
        self.layers = layers
        guard Set(layers.map { $0.gates == nil }).count == 1 else {
            throw FusionError.badWeights(path: path, reason: "some layers have gates and some do not")
        }
        normOut = try TransformerLayerNorm(file, "norm_out", size: dim, eps: 1e-5)
        output = try TransformerLinear(file, "output", out: out.shape[0], in: dim)
    }

    public func outputCount(tokens count: Int) -> Int { queryCount }

    public func callAsFunction(_ tokens: [Float], count n: Int) throws -> [Float] {
        try checkTokens(tokens, count: n)
        try position?.check(tokens: n, connector: "resampler", path: path)
        let d = dim, nq = queryCount
        var t = [Float](repeating: 0, count: n * d)      // input(tokens)
        var kv = [Float](repeating: 0, count: n * d)     // norm_kv(t)
        var keys = [Float](repeating: 0, count: n * d)
        var values = [Float](repeating: 0, count: n * d)
        var x = queries                                   // [nq, d]
        var h = [Float](repeating: 0, count: nq * d)
        var qs = [Float](repeating: 0, count: nq * d)
        var ctx = [Float](repeating: 0, count: nq * d)
        var f = [Float](repeating: 0, count: nq * d)
        let hiddenWidth = layers.map(\.fc1.outFeatures).max() ?? d
        var hidden = [Float](repeating: 0, count: nq * hiddenWidth)
        var scores = [Float](repeating: 0, count: min(nq, TransformerAttention.queryBlock) * n)
        tokens.withUnsafeBufferPointer { src in
            t.withUnsafeMutableBufferPointer { input.apply(src.baseAddress!, rows: n, into: $0.baseAddress!) }
        }
        position?.add(to: &t)
        func add(_ f: [Float], gate: Float?, to x: inout [Float]) {
            if let g = gate { for i in 0..<x.count { x[i] += g * f[i] } } else { for i in 0..<x.count { x[i] += f[i] } }
        }
        for layer in layers {
            layer.normKV.apply(array: t, rows: n, into: &kv)
            layer.k.apply(array: kv, rows: n, into: &keys)
            layer.v.apply(array: kv, rows: n, into: &values)
            layer.normQ.apply(array: x, rows: nq, into: &h)
            layer.q.apply(array: h, rows: nq, into: &qs)
            qs.withUnsafeBufferPointer { qp in
                keys.withUnsafeBufferPointer { kp in
                    values.withUnsafeBufferPointer { vp in
                        ctx.withUnsafeMutableBufferPointer { cp in
                            scores.withUnsafeMutableBufferPointer { sp in
                                TransformerAttention.scaledDotProduct(
                                    q: qp.baseAddress!, ldq: d, k: kp.baseAddress!, ldk: d, v: vp.baseAddress!, ldv: d,
                                    queries: nq, keys: n, heads: heads, headSize: d / heads, out: cp.baseAddress!, ldo: d,
                                    scores: sp.baseAddress!)
                            }
                        }
                    }
                }
            }
            layer.o.apply(array: ctx, rows: nq, into: &f)
            add(f, gate: layer.gates?.attention, to: &x)
            layer.normMLP.apply(array: x, rows: nq, into: &h)
            h.withUnsafeBufferPointer { hp in
                hidden.withUnsafeMutableBufferPointer { layer.fc1.applyGELU(hp.baseAddress!, rows: nq, into: $0.baseAddress!) }
            }
            layer.fc2.apply(array: hidden, rows: nq, into: &f)
            add(f, gate: layer.gates?.mlp, to: &x)
        }
        normOut.apply(array: x, rows: nq, into: &h)
        var out = [Float](repeating: 0, count: nq * outputWidth)
        output.apply(array: h, rows: nq, into: &out)
        return out
    }
}

extension TransformerLinear {
    /// `y = x · wᵀ + b` on arrays (rows of `inFeatures` in, rows of `outFeatures` out).
    func apply(array x: [Float], rows: Int, into y: inout [Float]) {
        x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { apply(xp.baseAddress!, rows: rows, into: $0.baseAddress!) } }
    }
}

extension TransformerLayerNorm {
    /// Normalizes `rows` rows of `x` into `y` (arrays).
    func apply(array x: [Float], rows: Int, into y: inout [Float]) {
        x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { apply(xp.baseAddress!, rows: rows, into: $0.baseAddress!) } }
    }
}
