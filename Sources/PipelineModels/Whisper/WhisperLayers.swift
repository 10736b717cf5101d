import PipelineTensor

/// A linear layer in CTranslate2's layout: `weight [out, in]`, `bias [out]`; `y = x · wᵀ + b`.
struct WhisperLinear: Sendable {
    let weight: [Float]
    /// The F16 weights as stored, kept for one-row products (the decoder) when `halves` is
    /// asked for: read at half the bytes, widened exactly, so the products are unchanged.
    let halves: [UInt16]?
    let bias: [Float]
    let outFeatures: Int
    let inFeatures: Int

    /// Loads `name/weight` (of `shape`, default `[out, in]`: a convolution's `[out, in, k]`
    /// is the same matrix) and `name/bias`.
    init(_ file: CT2File, _ name: String, out: Int, in: Int, reshaped shape: [Int]? = nil, halves: Bool = false) throws {
        weight = try file.floats(name + "/weight", shape: shape ?? [out, `in`])
        self.halves = halves ? try file.halves(name + "/weight", shape: shape ?? [out, `in`]) : nil
        bias = try file.floats(name + "/bias", shape: [out])
        outFeatures = out
        inFeatures = `in`
    }

    /// `y[rows, out] = x[rows, in] · wᵀ + b`, plus what `y` held when `accumulate` (a residual).
    func apply(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        weight.withUnsafeBufferPointer { w in
            if rows == 1, let halves {
                halves.withUnsafeBufferPointer {
                    EncoderOps.gemvF16($0.baseAddress!, rows: outFeatures, cols: inFeatures, x: x, y: y, accumulate: accumulate)
                }
            } else if rows == 1 {
                BLAS.gemv(m: outFeatures, n: inFeatures, a: w.baseAddress!, lda: inFeatures, x: x, beta: accumulate ? 1 : 0, y: y)
            } else {
                BLAS.gemmTransposedB(
                    m: rows, n: outFeatures, k: inFeatures, a: x, lda: inFeatures, b: w.baseAddress!, ldb: inFeatures,
                    beta: accumulate ? 1 : 0, c: y, ldc: outFeatures)
            }
        }
        bias.withUnsafeBufferPointer { EncoderOps.addBias(y, rows: rows, cols: outFeatures, bias: $0.baseAddress!) }
    }

    /// `y = gelu(x · wᵀ + b)`.
    func applyGELU(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        weight.withUnsafeBufferPointer { w in
            if rows == 1, let halves {
                halves.withUnsafeBufferPointer {
                    EncoderOps.gemvF16($0.baseAddress!, rows: outFeatures, cols: inFeatures, x: x, y: y)
                }
                return
            } else if rows == 1 {
                BLAS.gemv(m: outFeatures, n: inFeatures, a: w.baseAddress!, lda: inFeatures, x: x, y: y)
                return
            }
            BLAS.gemmTransposedB(
                m: rows, n: outFeatures, k: inFeatures, a: x, lda: inFeatures, b: w.baseAddress!, ldb: inFeatures,
                c: y, ldc: outFeatures)
        }
        bias.withUnsafeBufferPointer { EncoderOps.biasGELU(y, rows: rows, cols: outFeatures, bias: $0.baseAddress!) }
    }
}

/// LayerNorm over the last dimension (`name/gamma`, `name/beta`), eps 1e-5.
struct WhisperLayerNorm: Sendable {
    let gamma: [Float]
    let beta: [Float]

    init(_ file: CT2File, _ name: String, size: Int) throws {
        gamma = try file.floats(name + "/gamma", shape: [size])
        beta = try file.floats(name + "/beta", shape: [size])
    }

    /// Normalizes `rows` rows of `x` into `y` (which may be `x`).
    func apply(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        if UnsafePointer(y) != x { y.update(from: x, count: rows * gamma.count) }
        gamma.withUnsafeBufferPointer { g in
            beta.withUnsafeBufferPointer { b in
                EncoderOps.layerNorm(y, rows: rows, cols: g.count, gamma: g.baseAddress!, beta: b.baseAddress!, eps: 1e-5)
            }
        }
    }
}

/// The feed-forward sub-block: LayerNorm, `linear_0` + GELU, `linear_1`, added to the residual.
struct WhisperFFN: Sendable {
    let norm: WhisperLayerNorm
    let up: WhisperLinear
    let down: WhisperLinear

    init(_ file: CT2File, _ prefix: String, width: Int, hidden: Int, halves: Bool = false) throws {
        norm = try WhisperLayerNorm(file, prefix + "/layer_norm", size: width)
        up = try WhisperLinear(file, prefix + "/linear_0", out: hidden, in: width, halves: halves)
        down = try WhisperLinear(file, prefix + "/linear_1", out: width, in: hidden, halves: halves)
    }

    /// `x += down(gelu(up(norm(x))))` over `rows` rows; `scratch` holds `rows · (width + hidden)`.
    func apply(_ x: UnsafeMutablePointer<Float>, rows: Int, scratch: UnsafeMutablePointer<Float>) {
        let normed = scratch, hidden = scratch + rows * up.inFeatures
        norm.apply(x, rows: rows, into: normed)
        up.applyGELU(normed, rows: rows, into: hidden)
        down.apply(hidden, rows: rows, into: x, accumulate: true)
    }
}
