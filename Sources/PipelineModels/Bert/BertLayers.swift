import PipelineTensor

/// A linear layer in PyTorch's layout: `weight [out, in]`, `bias [out]`; `y = x · wᵀ + b`.
struct BertLinear: Sendable {
    let weight: [Float]
    let bias: [Float]
    let outFeatures: Int
    let inFeatures: Int

    init(weight: [Float], bias: [Float], outFeatures: Int, inFeatures: Int) {
        self.weight = weight
        self.bias = bias
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
    }

    /// Loads `name.weight` and `name.bias`, checking their shapes.
    init(_ file: SafetensorsFile, _ name: String, out: Int, in: Int) throws {
        self.init(
            weight: try file.floats(name + ".weight", shape: [out, `in`]), bias: try file.floats(name + ".bias", shape: [out]),
            outFeatures: out, inFeatures: `in`)
    }

    /// Several layers with the same input stacked into one (the query, key and value
    /// projections become one matrix product).
    init(stacking layers: [BertLinear]) {
        self.init(
            weight: layers.flatMap(\.weight), bias: layers.flatMap(\.bias),
            outFeatures: layers.map(\.outFeatures).reduce(0, +), inFeatures: layers.first?.inFeatures ?? 0)
    }

    /// `y[rows, out] = x[rows, in] · wᵀ + b`, plus what `y` held when `accumulate` (a residual).
    func apply(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        weight.withUnsafeBufferPointer { w in
            BLAS.gemmTransposedB(
                m: rows, n: outFeatures, k: inFeatures, a: x, lda: inFeatures, b: w.baseAddress!, ldb: inFeatures,
                beta: accumulate ? 1 : 0, c: y, ldc: outFeatures)
        }
        bias.withUnsafeBufferPointer { EncoderOps.addBias(y, rows: rows, cols: outFeatures, bias: $0.baseAddress!) }
    }
}

/// LayerNorm over the last dimension with learned scale and shift.
struct BertLayerNorm: Sendable {
    let gamma: [Float]
    let beta: [Float]
    let eps: Float

    init(_ file: SafetensorsFile, _ name: String, size: Int, eps: Float) throws {
        gamma = try file.floats(name + ".weight", shape: [size])
        beta = try file.floats(name + ".bias", shape: [size])
        self.eps = eps
    }

    func apply(_ x: UnsafeMutablePointer<Float>, rows: Int) {
        gamma.withUnsafeBufferPointer { g in
            beta.withUnsafeBufferPointer { b in
                EncoderOps.layerNorm(x, rows: rows, cols: g.count, gamma: g.baseAddress!, beta: b.baseAddress!, eps: eps)
            }
        }
    }
}

/// Word, position and token-type embeddings, summed and layer-normalized.
struct BertEmbeddings: Sendable {
    let word: [Float]
    let position: [Float]
    let tokenType: [Float]
    let norm: BertLayerNorm

    init(_ file: SafetensorsFile, prefix: String, config: BertConfig) throws {
        let h = config.hiddenSize
        word = try file.floats(prefix + "embeddings.word_embeddings.weight", shape: [config.vocabSize, h])
        position = try file.floats(prefix + "embeddings.position_embeddings.weight", shape: [config.maxPositions, h])
        tokenType = try file.floats(prefix + "embeddings.token_type_embeddings.weight", shape: [config.typeVocabSize, h])
        norm = try BertLayerNorm(file, prefix + "embeddings.LayerNorm", size: h, eps: config.layerNormEps)
    }
}

/// One encoder block: self-attention (fused Q, K, V), its output projection and LayerNorm,
/// then the GELU feed-forward with its LayerNorm; both sub-blocks are post-norm residuals.
struct BertLayer: Sendable {
    let qkv: BertLinear
    let attentionOutput: BertLinear
    let attentionNorm: BertLayerNorm
    let intermediate: BertLinear
    let output: BertLinear
    let outputNorm: BertLayerNorm

    init(_ file: SafetensorsFile, prefix: String, config: BertConfig) throws {
        let (h, i, eps) = (config.hiddenSize, config.intermediateSize, config.layerNormEps)
        qkv = BertLinear(stacking: [
            try BertLinear(file, prefix + "attention.self.query", out: h, in: h),
            try BertLinear(file, prefix + "attention.self.key", out: h, in: h),
            try BertLinear(file, prefix + "attention.self.value", out: h, in: h),
        ])
        attentionOutput = try BertLinear(file, prefix + "attention.output.dense", out: h, in: h)
        attentionNorm = try BertLayerNorm(file, prefix + "attention.output.LayerNorm", size: h, eps: eps)
        intermediate = try BertLinear(file, prefix + "intermediate.dense", out: i, in: h)
        output = try BertLinear(file, prefix + "output.dense", out: h, in: i)
        outputNorm = try BertLayerNorm(file, prefix + "output.LayerNorm", size: h, eps: eps)
    }
}
