import CKernels

/// ggml's RMSNorm fused with the weight that follows it: per row, the mean square summed in
/// double (as ggml accumulates it), then x * (1/sqrt(mean + eps)) * w (CKernels' pl_rms_norm,
/// which sums up to eight rows side by side, each row's chain its own).
struct RMSNorm {
    let epsilon: Float

    /// Normalizes `rows` consecutive rows of `weight.count` floats from `x` into `out`, which
    /// may be `x`; with `threads` > 1, rows split over the worker pool when there are enough
    /// (`DecoderBuffers.forRows`; each row's values are the same either way).
    func callAsFunction(_ x: UnsafeMutablePointer<Float>, _ weight: [Float], into out: UnsafeMutablePointer<Float>,
                        rows: Int = 1, threads: Int = 1) {
        let n = weight.count, epsilon = self.epsilon
        weight.withUnsafeBufferPointer { w in
            DecoderBuffers.forRows(rows, threads: threads) { range in
                pl_rms_norm(x + range.lowerBound * n, w.baseAddress!, out + range.lowerBound * n, Int32(n), Int32(range.count),
                            epsilon)
            }
        }
    }
}
