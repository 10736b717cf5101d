import PipelineTensor

/// Whisper's audio encoder: two GELU convolutions (the second with stride 2) over the log-mel
/// features, the stored sinusoidal positions, pre-LN transformer blocks and a final LayerNorm.
/// `[80, 3000]` features become `[1500, width]` states.
public struct WhisperEncoder: Sendable {
    let conv1: WhisperLinear
    let conv2: WhisperLinear
    let positions: [Float]
    let layers: [WhisperEncoderLayer]
    let norm: WhisperLayerNorm
    public let config: WhisperConfig

    init(_ file: CT2File, config c: WhisperConfig) throws {
        config = c
        conv1 = try WhisperLinear(file, "encoder/conv1", out: c.width, in: c.melBands * 3, reshaped: [c.width, c.melBands, 3])
        conv2 = try WhisperLinear(file, "encoder/conv2", out: c.width, in: c.width * 3, reshaped: [c.width, c.width, 3])
        positions = try file.floats("encoder/position_encodings/encodings", shape: [c.audioContext, c.width])
        layers = try (0..<c.encoderLayers).map { try WhisperEncoderLayer(file, "encoder/layer_\($0)", config: c) }
        norm = try WhisperLayerNorm(file, "encoder/layer_norm", size: c.width)
    }

    /// Encodes `[melBands, 2 · audioContext]` log-mel features (row-major) into
    /// `[audioContext, width]` states.
    public func encode(_ mel: [Float]) -> [Float] {
        let c = config, frames = 2 * c.audioContext, outFrames = c.audioContext, w = c.width
        precondition(mel.count == c.melBands * frames, "encoder input must be [\(c.melBands), \(frames)]")
        // conv1 as im2col: cols[t, i·3 + k] = mel[i, t + k − 1].
        var cols = [Float](repeating: 0, count: frames * c.melBands * 3)
        for t in 0..<frames {
            for i in 0..<c.melBands {
                for k in 0..<3 where t + k - 1 >= 0 && t + k - 1 < frames {
                    cols[(t * c.melBands + i) * 3 + k] = mel[i * frames + t + k - 1]
                }
            }
        }
        var h1 = [Float](repeating: 0, count: frames * w)
        cols.withUnsafeBufferPointer { a in h1.withUnsafeMutableBufferPointer { conv1.applyGELU(a.baseAddress!, rows: frames, into: $0.baseAddress!) } }
        // conv2, stride 2: cols2[t, i·3 + k] = h1[2t + k − 1, i].
        var cols2 = [Float](repeating: 0, count: outFrames * w * 3)
        for t in 0..<outFrames {
            for k in 0..<3 {
                let src = 2 * t + k - 1
                guard src >= 0, src < frames else { continue }
                for i in 0..<w { cols2[(t * w + i) * 3 + k] = h1[src * w + i] }
            }
        }
        var x = [Float](repeating: 0, count: outFrames * w)
        cols2.withUnsafeBufferPointer { a in x.withUnsafeMutableBufferPointer { conv2.applyGELU(a.baseAddress!, rows: outFrames, into: $0.baseAddress!) } }
        for i in x.indices { x[i] += positions[i] }
        let attention = TransformerAttention.blockedScratch(keys: outFrames, heads: c.heads, headSize: w / c.heads)
        var scratch = [Float](repeating: 0, count: max(outFrames * (w + c.ffnWidth), outFrames * (4 * w) + attention))
        x.withUnsafeMutableBufferPointer { xp in
            scratch.withUnsafeMutableBufferPointer { sp in
                for layer in layers { layer.apply(xp.baseAddress!, rows: outFrames, scratch: sp.baseAddress!) }
                norm.apply(xp.baseAddress!, rows: outFrames, into: xp.baseAddress!)
            }
        }
        return x
    }
}

/// One pre-LN encoder block: self-attention (fused Q, K, V in `linear_0`, output `linear_1`),
/// then the feed-forward, each added to the residual.
struct WhisperEncoderLayer: Sendable {
    let norm: WhisperLayerNorm
    let qkv: WhisperLinear
    let output: WhisperLinear
    let ffn: WhisperFFN
    let heads: Int

    init(_ file: CT2File, _ prefix: String, config c: WhisperConfig) throws {
        norm = try WhisperLayerNorm(file, prefix + "/self_attention/layer_norm", size: c.width)
        qkv = try WhisperLinear(file, prefix + "/self_attention/linear_0", out: 3 * c.width, in: c.width)
        output = try WhisperLinear(file, prefix + "/self_attention/linear_1", out: c.width, in: c.width)
        ffn = try WhisperFFN(file, prefix + "/ffn", width: c.width, hidden: c.ffnWidth)
        heads = c.heads
    }

    /// Runs the block on `x[rows, width]` in place; `scratch` holds `rows · 4 · width` floats
    /// plus `TransformerAttention.blockedScratch` for `rows` keys.
    func apply(_ x: UnsafeMutablePointer<Float>, rows: Int, scratch: UnsafeMutablePointer<Float>) {
        let w = output.inFeatures
        let normed = scratch, qkvOut = scratch + rows * w, attended = qkvOut + rows * 3 * w
        norm.apply(x, rows: rows, into: normed)
        qkv.apply(normed, rows: rows, into: qkvOut)
        // The attention output reuses `normed`; the packed keys and values follow the fused
        // projections.
        TransformerAttention.blockedScaledDotProduct(
            q: qkvOut, ldq: 3 * w, k: qkvOut + w, ldk: 3 * w, v: qkvOut + 2 * w, ldv: 3 * w, queries: rows, keys: rows,
            heads: heads, headSize: w / heads, out: normed, ldo: w, scratch: attended)
        output.apply(normed, rows: rows, into: x, accumulate: true)
        ffn.apply(x, rows: rows, scratch: scratch)
    }
}
