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

    /// `y[rows, out] = x[rows, in] · wᵀ + b`, plus what `y` held when `accumulate` (a residual).
    func apply(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        product(x, rows: rows, into: y, accumulate: accumulate)
        bias.withUnsafeBufferPointer { EncoderOps.addBias(y, rows: rows, cols: outFeatures, bias: $0.baseAddress!) }
    }

    /// `y = gelu(x · wᵀ + b)` with the exact (erf) GELU.
    func applyGELU(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        product(x, rows: rows, into: y, accumulate: false)
        bias.withUnsafeBufferPointer { EncoderOps.biasGELU(y, rows: rows, cols: outFeatures, bias: $0.baseAddress!) }
    }

    private func product(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool) {
        if let bf16, BF16Weight.isActive {
            bf16.product(x, rows: rows, into: y, accumulate: accumulate)
            return
        }
        weight.withUnsafeBufferPointer { w in
            BLAS.gemmTransposedB(
                m: rows, n: outFeatures, k: inFeatures, a: x, lda: inFeatures, b: w.baseAddress!, ldb: inFeatures,
                beta: accumulate ? 1 : 0, c: y, ldc: outFeatures)
        }
    }
}
