import PipelineTensor

/// Word, position and token-type embeddings, summed and layer-normalized.
struct BertEmbeddings: Sendable {
    let word: [Float]
    let position: [Float]
    let tokenType: [Float]
    let norm: TransformerLayerNorm

    init(_ file: SafetensorsFile, prefix: String, config: BertConfig) throws {
        let h = config.hiddenSize
        word = try file.floats(prefix + "embeddings.word_embeddings.weight", shape: [config.vocabSize, h])
        position = try file.floats(prefix + "embeddings.position_embeddings.weight", shape: [config.maxPositions, h])
        tokenType = try file.floats(prefix + "embeddings.token_type_embeddings.weight", shape: [config.typeVocabSize, h])
        norm = try TransformerLayerNorm(file, prefix + "embeddings.LayerNorm", size: h, eps: config.layerNormEps)
    }
}

/// One encoder block: self-attention (fused Q, K, V), its output projection and LayerNorm,
/// then the GELU feed-forward with its LayerNorm; both sub-blocks are post-norm residuals. The
/// four linear layers compute in the model's `LinearPrecision`.
struct BertLayer: Sendable {
    let qkv: TransformerLinear
    let attentionOutput: TransformerLinear
    let attentionNorm: TransformerLayerNorm
    let intermediate: TransformerLinear
    let output: TransformerLinear
    let outputNorm: TransformerLayerNorm

    init(_ file: SafetensorsFile, prefix: String, config: BertConfig, precision: LinearPrecision) throws {
        let (h, i, eps) = (config.hiddenSize, config.intermediateSize, config.layerNormEps)
        qkv = TransformerLinear(stacking: [
            try TransformerLinear(file, prefix + "attention.self.query", out: h, in: h),
            try TransformerLinear(file, prefix + "attention.self.key", out: h, in: h),
            try TransformerLinear(file, prefix + "attention.self.value", out: h, in: h),
        ]).precision(precision)
        attentionOutput = try TransformerLinear(file, prefix + "attention.output.dense", out: h, in: h).precision(precision)
        attentionNorm = try TransformerLayerNorm(file, prefix + "attention.output.LayerNorm", size: h, eps: eps)
        intermediate = try TransformerLinear(file, prefix + "intermediate.dense", out: i, in: h).precision(precision)
        output = try TransformerLinear(file, prefix + "output.dense", out: h, in: i).precision(precision)
        outputNorm = try TransformerLayerNorm(file, prefix + "output.LayerNorm", size: h, eps: eps)
    }
}
