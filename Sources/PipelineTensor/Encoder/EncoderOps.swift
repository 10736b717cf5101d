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

    // MARK: Plain references

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
