import Foundation

/// Rotary position embedding for one position as ggml computes it: the angles
/// theta_i = pos * base^(-2i/d), built by repeated products, times a linear `scale`, and their
/// cosines and sines; then either of ggml's two ways of pairing a head's elements. Both
/// rotations are written with the fused multiply-adds GCC emits for ggml's C (FMA
/// contraction turns a*c - b*s into fma(a, c, -(b*s))). Which mode and base a model uses is
/// the model's choice.
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

    /// ggml's NORM mode (llama): adjacent pairs (x[2i], x[2i+1]) of each head (the GGUF
    /// converter permuted Q and K for it).
    func rotateAdjacent(_ x: UnsafeMutablePointer<Float>, heads: Int) {
        let half = cosines.count
        for head in 0..<heads {
            let p = x + head * 2 * half
            for i in 0..<half {
                let c = cosines[i], s = sines[i]
                let a = p[2 * i], b = p[2 * i + 1]
                p[2 * i] = (-(b * s)).addingProduct(a, c)
                p[2 * i + 1] = (b * c).addingProduct(a, s)
            }
        }
    }

    /// ggml's NEOX mode (Gemma): element i of each head pairs with element i + d/2.
    func rotateHalves(_ x: UnsafeMutablePointer<Float>, heads: Int) {
        let half = cosines.count
        for head in 0..<heads {
            let p = x + head * 2 * half
            for i in 0..<half {
                let c = cosines[i], s = sines[i]
                let a = p[i], b = p[i + half]
                p[i] = (-(b * s)).addingProduct(a, c)
                p[i + half] = (b * c).addingProduct(a, s)
            }
        }
    }
}
