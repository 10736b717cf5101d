/// One pre-norm encoder block of torchvision's ViT (`encoder.layers.encoder_layer_N`):
/// `x += out_proj(attention(in_proj(ln_1(x))))`, then `x += mlp.3(gelu(mlp.0(ln_2(x))))`.
struct ViTEncoderBlock: Sendable {
    let norm1: TransformerLayerNorm
    let qkv: TransformerLinear
    let output: TransformerLinear
    let norm2: TransformerLayerNorm
    let up: TransformerLinear
    let down: TransformerLinear

    init(_ file: SafetensorsFile, index: Int, config c: ViTConfig) throws {
        let prefix = "encoder.layers.encoder_layer_\(index)."
        let (w, eps) = (c.width, c.layerNormEps)
        norm1 = try TransformerLayerNorm(file, prefix + "ln_1", size: w, eps: eps)
        qkv = try TransformerLinear(
            file, weight: prefix + "self_attention.in_proj_weight", bias: prefix + "self_attention.in_proj_bias",
            out: 3 * w, in: w)
        output = try TransformerLinear(file, prefix + "self_attention.out_proj", out: w, in: w)
        norm2 = try TransformerLayerNorm(file, prefix + "ln_2", size: w, eps: eps)
        up = try TransformerLinear(file, prefix + "mlp.0", out: c.mlpWidth, in: w)
        down = try TransformerLinear(file, prefix + "mlp.3", out: w, in: c.mlpWidth)
    }

    /// Runs the block in place on `x [rows, width]`, sequences of `tokens` rows each.
    /// `scratch` holds `rows · max(4 · width, width + mlpWidth)` floats.
    func apply(_ x: UnsafeMutablePointer<Float>, rows: Int, tokens: Int, heads: Int, scratch: UnsafeMutablePointer<Float>) {
        let w = output.inFeatures
        let normed = scratch, fused = scratch + rows * w
        norm1.apply(x, rows: rows, into: normed)
        qkv.apply(normed, rows: rows, into: fused)
        let sequences = rows / tokens
        TransformerAttention.packedSelfAttention(
            qkv: fused, width: w, heads: heads, into: normed, offsets: (0..<sequences).map { $0 * tokens },
            lengths: Array(repeating: tokens, count: sequences))
        output.apply(normed, rows: rows, into: x, accumulate: true)
        let hidden = scratch + rows * w
        norm2.apply(x, rows: rows, into: normed)
        up.applyGELU(normed, rows: rows, into: hidden)
        down.apply(hidden, rows: rows, into: x, accumulate: true)
    }
}
