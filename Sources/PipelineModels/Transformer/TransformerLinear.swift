import PipelineTensor

/// A linear layer in PyTorch's layout: `weight [out, in]`, `bias [out]`; `y = x · wᵀ + b`.
/// Shared by the safetensors encoders (BERT, ViT); products run on OpenBLAS sgemm, or on the
/// bfloat16 product where the layer holds a `BF16Weight` and the thread's path runs it.
struct TransformerLinear: Sendable {
    let weight: [Float]
    let bias: [Float]
    let outFeatures: Int
    let inFeatures: Int
    /// The weight packed for `BF16Weight`'s product (`precision(_:)`), or nil: sgemm only.
    let bf16: BF16Weight?

    init(weight: [Float], bias: [Float], outFeatures: Int, inFeatures: Int, bf16: BF16Weight? = nil) {
        self.weight = weight
        self.bias = bias
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        self.bf16 = bf16
    }

    /// This layer computing in `precision`: with `.bfloat16` on a CPU that runs the bfloat16
    /// product, the weight is packed for it once here (the float weight stays for the paths
    /// that do not run it).
    func precision(_ precision: LinearPrecision) -> TransformerLinear {
        guard precision == .bfloat16, BF16Weight.isSupported else { return self }
        return TransformerLinear(
            weight: weight, bias: bias, outFeatures: outFeatures, inFeatures: inFeatures,
            bf16: BF16Weight(weight, outFeatures: outFeatures, inFeatures: inFeatures))
    }

    /// Loads `name.weight` and `name.bias`, checking their shapes.
    init(_ file: SafetensorsFile, _ name: String, out: Int, in: Int) throws {
        try self.init(file, weight: name + ".weight", bias: name + ".bias", out: out, in: `in`)
    }

    /// Loads a weight and a bias stored under other names (`in_proj_weight`, `in_proj_bias`).
    init(_ file: SafetensorsFile, weight: String, bias: String, out: Int, in: Int) throws {
        self.init(
            weight: try file.floats(weight, shape: [out, `in`]), bias: try file.floats(bias, shape: [out]),
            outFeatures: out, inFeatures: `in`)
    }

    /// Several layers with the same input stacked into one (the query, key and value
    /// projections become one matrix product).
    init(stacking layers: [TransformerLinear]) {
        self.init(
            weight: layers.flatMap(\.weight), bias: layers.flatMap(\.bias),
            outFeatures: layers.map(\.outFeatures).reduce(0, +), inFeatures: layers.first?.inFeatures ?? 0)
    }

    /// `y[rows, out] = x[rows, in] · wᵀ + b`, plus what `y` held when `accumulate` (a residual),
    /// then `norm` on every row when given (a post-norm block's LayerNorm).
    func apply(
        _ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool = false,
        norm: TransformerLayerNorm? = nil
    ) {
        bias.withUnsafeBufferPointer { bias in
            product(x, rows: rows, into: y, accumulate: accumulate) { first, count in
                let rows = y + first * outFeatures
                EncoderOps.addBias(rows, rows: count, cols: outFeatures, bias: bias.baseAddress!)
                norm?.apply(rows, rows: count)
            }
        }
    }

    /// `y = gelu(x · wᵀ + b)` with the exact (erf) GELU.
    func applyGELU(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        bias.withUnsafeBufferPointer { bias in
            product(x, rows: rows, into: y, accumulate: false) { first, count in
                EncoderOps.biasGELU(y + first * outFeatures, rows: count, cols: outFeatures, bias: bias.baseAddress!)
            }
        }
    }

    /// The product, then `finish(first, count)` on rows of y: per task of the bfloat16 product
    /// (on the worker that computed them), once over all rows after sgemm.
    private func product(
        _ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool,
        finish: (_ first: Int, _ count: Int) -> Void
    ) {
        if let bf16, BF16Weight.isActive {
            bf16.product(x, rows: rows, into: y, accumulate: accumulate, finish: finish)
            return
        }
        weight.withUnsafeBufferPointer { w in
            BLAS.gemmTransposedB(
                m: rows, n: outFeatures, k: inFeatures, a: x, lda: inFeatures, b: w.baseAddress!, ldb: inFeatures,
                beta: accumulate ? 1 : 0, c: y, ldc: outFeatures)
        }
        finish(0, rows)
    }
}
