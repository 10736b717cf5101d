/// ggml's RMSNorm fused with the weight that follows it: per row, the mean square summed in
/// double (as ggml accumulates it), then x * (1/sqrt(mean + eps)) * w.
struct RMSNorm {
    let epsilon: Float

    /// Normalizes `rows` consecutive rows of `weight.count` floats from `x` into `out`, which
    /// may be `x`; with `threads` > 1, rows split over the worker pool when there are enough
    /// (`DecoderBuffers.forRows`; each row's values are the same either way).
    func callAsFunction(_ x: UnsafeMutablePointer<Float>, _ weight: [Float], into out: UnsafeMutablePointer<Float>,
                        rows: Int = 1, threads: Int = 1) {
        let n = weight.count, epsilon = self.epsilon
        DecoderBuffers.forRows(rows, threads: threads) { range in
            for r in range {
                let x = x + r * n, out = out + r * n
                var sum: Double = 0
                for i in 0..<n { sum += Double(x[i] * x[i]) }
                let inv = 1 / (Float(sum / Double(n)) + epsilon).squareRoot()
                for i in 0..<n { out[i] = x[i] * inv * weight[i] }
            }
        }
    }
}
