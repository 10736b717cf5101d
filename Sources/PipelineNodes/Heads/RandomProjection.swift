import Foundation
import PipelineTensor

/// RanPAC's fixed random projection: `h = ReLU(W·x)`, `W` an `[outputs, inputs]` matrix of
/// standard normal numbers made from a seed (SplitMix64, Box–Muller), never trained.
///
/// The generator is written out so that a reference (scripts/continual/head_reference.py)
/// makes the same matrix: for each pair of entries, two uniforms `u1 = (a >> 11 + 1) / 2⁵³`,
/// `u2 = (b >> 11) / 2⁵³` from consecutive SplitMix64 outputs give
/// `√(−2 ln u1) · cos(2πu2)` and `· sin(2πu2)`, rounded to Float32, row by row.
public struct RandomProjection: Sendable {
    public let inputs: Int
    public let outputs: Int
    public let weights: [Float]

    public init(inputs: Int, outputs: Int, seed: UInt64) {
        self.inputs = inputs
        self.outputs = outputs
        var state = seed
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let count = inputs * outputs
        var w = [Float](repeating: 0, count: count)
        var i = 0
        while i < count {
            let u1 = (Double(next() >> 11) + 1) / 9_007_199_254_740_992
            let u2 = Double(next() >> 11) / 9_007_199_254_740_992
            let r = (-2 * log(u1)).squareRoot()
            w[i] = Float(r * cos(2 * Double.pi * u2))
            if i + 1 < count { w[i + 1] = Float(r * sin(2 * Double.pi * u2)) }
            i += 2
        }
        weights = w
    }

    /// `ReLU(W·x)` in Float32 (OpenBLAS), widened to Double.
    public func apply(_ x: [Float]) -> [Double] {
        precondition(x.count == inputs)
        var y = [Float](repeating: 0, count: outputs)
        weights.withUnsafeBufferPointer { w in
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    BLAS.gemv(m: outputs, n: inputs, a: w.baseAddress!, lda: inputs, x: xp.baseAddress!, y: yp.baseAddress!)
                }
            }
        }
        return y.map { $0 > 0 ? Double($0) : 0 }
    }
}
