import CKernels
import Foundation

/// Rotary position embedding for one position as ggml computes it: the angles
/// theta_i = pos * base^(-2i/d), built by repeated products, times a linear `scale`, and their
/// cosines and sines; then either of ggml's two ways of pairing a head's elements. Both
/// rotations are written with the fused multiply-adds GCC emits for ggml's C (FMA
/// contraction turns a*c - b*s into fma(a, c, -(b*s))). Which mode and base a model uses is
/// the model's choice. The rotation itself is CKernels' pl_rope.
struct Rope {
    let cosines: [Float]
    let sines: [Float]

    init(headSize d: Int, base: Float, scale: Float = 1, position: Int) {
        let thetaScale = powf(base, -2 / Float(d))
        var cosines = [Float](repeating: 0, count: d / 2), sines = cosines
        var theta = Float(position)
        for i in 0..<(d / 2) {
            let t = scale * theta
            cosines[i] = cosf(t)
            sines[i] = sinf(t)
            theta *= thetaScale
        }
        self.cosines = cosines
        self.sines = sines
    }

    /// How a head's elements pair up: ggml's NORM mode (llama: adjacent pairs (x[2i], x[2i+1]),
    /// for which the GGUF converter permuted Q and K) or NEOX mode (Gemma: x[i] with x[i + d/2]).
    enum Mode {
        case norm, neox
    }

    /// Rotates each pair of `heads` consecutive heads in place.
    func rotate(_ x: UnsafeMutablePointer<Float>, heads: Int, mode: Mode) {
        pl_rope(x, Int32(heads), Int32(cosines.count), cosines, sines, mode == .neox ? 1 : 0)
    }
}
