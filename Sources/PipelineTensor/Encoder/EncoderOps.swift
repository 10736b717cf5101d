import CKernels
import Foundation

/// Row-wise kernels of transformer encoders over row-major `[rows, cols]` float matrices,
/// in place: bias, bias + GELU, LayerNorm, softmax. The work is done by CKernels (always
/// optimized); each has a plain Swift twin (`reference…`) that the tests compare it with.
public enum EncoderOps {
    /// `x[r, c] += bias[c]`.
    public static func addBias(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int, bias: UnsafePointer<Float>) {
        pl_add_bias(x, Int32(rows), Int32(cols), bias)
    }

    /// `x = gelu(x + bias)`, the exact GELU `0.5 · v · (1 + erf(v / √2))` BERT uses.
    public static func biasGELU(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int, bias: UnsafePointer<Float>) {
        pl_bias_gelu(x, Int32(rows), Int32(cols), bias)
    }

    /// LayerNorm of every row: `(x − mean) / √(var + eps) · gamma + beta` (biased variance).
    public static func layerNorm(
        _ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
        eps: Float
    ) {
        pl_layer_norm(x, Int32(rows), Int32(cols), gamma, beta, eps)
    }

    /// Softmax of the first `cols` entries of each of `rows` rows laid `ld` apart.
    public static func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ld: Int) {
        pl_softmax_rows(x, Int32(rows), Int32(cols), Int32(ld))
    }

    /// `y[r] = (accumulate ? y[r] : 0) + Σ_c w[r, c] · x[c]` for row-major F16 weights
    /// `[rows, cols]` (bit patterns), widened exactly to float.
    public static func gemvF16(
        _ w: UnsafePointer<UInt16>, rows: Int, cols: Int, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
        accumulate: Bool = false
    ) {
        pl_gemv_f16(w, Int32(rows), Int32(cols), x, y, accumulate ? 1 : 0)
    }

    /// The key columns of `attentionRows` for one head: `kt[c · ldkt + j] = k[j · ldk + c]` for
    /// `keys` rows of `d` floats, zero for `j` in `keys..<ldkt`.
    public static func packKeysTransposed(
        _ k: UnsafePointer<Float>, ldk: Int, keys: Int, d: Int, into kt: UnsafeMutablePointer<Float>, ldkt: Int
    ) {
        pl_pack_keys_t(k, Int32(ldk), Int32(keys), Int32(d), kt, Int32(ldkt))
    }

    /// The values of `attentionRows` for one head, in panels of 16 columns:
    /// `packedValueCount(keys:d:)` floats.
    public static func packValues(_ v: UnsafePointer<Float>, ldv: Int, keys: Int, d: Int, into vp: UnsafeMutablePointer<Float>) {
        pl_pack_values(v, Int32(ldv), Int32(keys), Int32(d), vp)
    }

    /// Floats of one head's packed values.
    public static func packedValueCount(keys: Int, d: Int) -> Int { (d + 15) / 16 * 16 * keys }

    /// The padded row length of packed keys: `keys` rounded up to 16.
    public static func packedKeyStride(keys: Int) -> Int { (keys + 15) / 16 * 16 }

    /// Floats of scratch `attentionRows` needs for keys packed `ldkt` apart.
    public static func attentionScratch(ldkt: Int) -> Int { 16 * ldkt }

    /// One head's attention for `rows` query rows on one thread:
    /// `out[r] = softmax(scale · q[r] · Kᵀ) · V`, with the keys packed by `packKeysTransposed`
    /// and the values by `packValues`; `d` floats per row, rows of q and out `ldq`, `ldo` apart.
    /// `scratch` holds `attentionScratch(ldkt:)` floats.
    public static func attentionRows(
        q: UnsafePointer<Float>, ldq: Int, keysTransposed kt: UnsafePointer<Float>, ldkt: Int,
        values vp: UnsafePointer<Float>, rows: Int, keys: Int, d: Int, scale: Float, out: UnsafeMutablePointer<Float>,
        ldo: Int, scratch: UnsafeMutablePointer<Float>
    ) {
        pl_attention_rows(
            q, Int32(ldq), kt, Int32(ldkt), vp, Int32(rows), Int32(keys), Int32(d), scale, out, Int32(ldo), scratch)
    }

    /// One query's attention over key and value rows in place (`ldk`, `ldv` apart), for a
    /// decoder's growing cache: `out = softmax(scale · q · Kᵀ) · V`; `scratch` holds `keys` floats.
    public static func attentionOne(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, ldk: Int, v: UnsafePointer<Float>, ldv: Int, keys: Int, d: Int,
        scale: Float, out: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
    ) {
        pl_attention_one(q, k, Int32(ldk), v, Int32(ldv), Int32(keys), Int32(d), scale, out, scratch)
    }

    // MARK: Plain references

    /// softmax(scale · q kᵀ) v in Double for one head: q `[rows, d]`, k and v `[keys, d]`.
    public static func referenceAttention(_ q: [Float], _ k: [Float], _ v: [Float], d: Int, scale: Float) -> [Float] {
        let rows = q.count / d, keys = k.count / d
        var out = [Float](repeating: 0, count: rows * d)
        for r in 0..<rows {
            let scores = (0..<keys).map { j in (0..<d).reduce(0.0) { $0 + Double(q[r * d + $1]) * Double(k[j * d + $1]) } * Double(scale) }
            let m = scores.max() ?? 0
            let e = scores.map { exp($0 - m) }
            let sum = e.reduce(0, +)
            for c in 0..<d {
                out[r * d + c] = Float((0..<keys).reduce(0.0) { $0 + e[$1] * Double(v[$1 * d + c]) } / sum)
            }
        }
        return out
    }

    public static func referenceBiasGELU(_ x: [Float], cols: Int, bias: [Float]) -> [Float] {
        x.indices.map { i in
            let v = Double(x[i]) + Double(bias[i % cols])
            return Float(0.5 * v * (1 + erf(v / 2.0.squareRoot())))
        }
    }

    public static func referenceLayerNorm(_ x: [Float], cols: Int, gamma: [Float], beta: [Float], eps: Float) -> [Float] {
        var out = x
        for start in stride(from: 0, to: x.count, by: cols) {
            let row = x[start..<start + cols].map(Double.init)
            let mean = row.reduce(0, +) / Double(cols)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(cols)
            for c in 0..<cols {
                out[start + c] = Float((row[c] - mean) / (variance + Double(eps)).squareRoot() * Double(gamma[c]) + Double(beta[c]))
            }
        }
        return out
    }

    public static func referenceSoftmax(_ x: [Float], cols: Int) -> [Float] {
        var out = x
        for start in stride(from: 0, to: x.count, by: cols) {
            let row = x[start..<start + cols].map(Double.init)
            let m = row.max() ?? 0
            let sum = row.map { exp($0 - m) }.reduce(0, +)
            for c in 0..<cols { out[start + c] = Float(exp(row[c] - m) / sum) }
        }
        return out
    }

    public static func referenceGemvF16(_ w: [UInt16], cols: Int, x: [Float]) -> [Float] {
        stride(from: 0, to: w.count, by: cols).map { start in
            Float((0..<cols).reduce(0.0) { $0 + Double(Float(Float16(bitPattern: w[start + $1]))) * Double(x[$1]) })
        }
    }
}
