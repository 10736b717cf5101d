import Foundation
import PipelineTensor

/// What a ViT gives for a batch of images of one size.
public struct ViTOutput: Sendable {
    public var images: Int
    public var width: Int
    /// Patches per image (`gridHeight · gridWidth`), row-major over the image.
    public var patches: Int
    public var gridHeight: Int
    public var gridWidth: Int
    /// `[images, width]`: the class token after the final LayerNorm (what the head reads).
    public var features: [Float]
    /// `[images, classes]`, nil when the weights have no head.
    public var logits: [Float]?
    /// `[images, patches, width]`: the patch tokens after the final LayerNorm.
    public var tokens: [Float]

    public func feature(_ i: Int) -> ArraySlice<Float> { features[i * width..<(i + 1) * width] }
    public func logits(_ i: Int) -> ArraySlice<Float>? {
        guard let logits else { return nil }
        let classes = logits.count / images
        return logits[i * classes..<(i + 1) * classes]
    }
    public func tokens(_ i: Int) -> ArraySlice<Float> { tokens[i * patches * width..<(i + 1) * patches * width] }
}

/// torchvision's `VisionTransformer` (eval mode) on safetensors weights with its state-dict
/// names: `conv_proj` patch embedding, `class_token`, learned `encoder.pos_embedding`, pre-norm
/// blocks `encoder.layers.encoder_layer_N` (`ln_1`, `self_attention`, `ln_2`, `mlp.0`/`mlp.3`,
/// exact GELU), the final `encoder.ln`, and `heads.head` when present.
///
/// Images of other sizes than the one the weights were made for work when both sides are
/// multiples of the patch size: the position embeddings are resized bicubically as
/// torchvision's `interpolate_embeddings` does (see `ViTPositions`). The dense layers, the
/// LayerNorms, GELU and attention are the shared transformer pieces BERT also uses.
/// Immutable after load, so one instance serves any number of threads.
public final class ViTModel: Sendable {
    public let config: ViTConfig
    public let path: String
    let patchWeight: [Float]
    let patchBias: [Float]
    let classToken: [Float]
    /// `[1 + grid², width]`: the class token's position, then the patches'.
    let positions: [Float]
    let blocks: [ViTEncoderBlock]
    let norm: TransformerLayerNorm
    let head: TransformerLinear?

    /// Loads a safetensors file, reading the configuration off its shapes (`heads` when the
    /// file cannot tell, see `ViTConfig`); every tensor is checked for presence and shape.
    public convenience init(path: String, heads: Int? = nil) throws {
        let file = try SafetensorsFile(path: path)
        try self.init(file: file, config: try ViTConfig(inferringFrom: file, heads: heads))
    }

    public init(file: SafetensorsFile, config c: ViTConfig) throws {
        config = c
        path = file.path
        let p = c.patchSize
        patchWeight = try file.floats("conv_proj.weight", shape: [c.width, 3, p, p])
        patchBias = try file.floats("conv_proj.bias", shape: [c.width])
        classToken = try file.floats("class_token", shape: [1, 1, c.width])
        positions = try file.floats("encoder.pos_embedding", shape: [1, 1 + c.grid * c.grid, c.width])
        blocks = try (0..<c.layers).map { try ViTEncoderBlock(file, index: $0, config: c) }
        norm = try TransformerLayerNorm(file, "encoder.ln", size: c.width, eps: c.layerNormEps)
        head = try c.classes.map { try TransformerLinear(file, "heads.head", out: $0, in: c.width) }
    }

    /// Runs `images` RGB images given as `[images][3][height][width]` floats, already
    /// normalised (torchvision's ViTs: `(x / 255 − ImageNet mean) / ImageNet std`). Both sides
    /// must be positive multiples of the patch size.
    public func forward(_ input: [Float], images: Int, height: Int, width: Int) throws(ViTError) -> ViTOutput {
        let c = config, p = c.patchSize, w = c.width
        guard images > 0, height > 0, width > 0 else {
            throw .badInput(reason: "empty batch or image (\(images) x 3 x \(height) x \(width))")
        }
        guard height % p == 0, width % p == 0 else {
            throw .badInput(reason: "\(width) x \(height) is not a multiple of the \(p)-pixel patches")
        }
        guard input.count == images * 3 * height * width else {
            throw .badInput(
                reason: "\(input.count) floats for \(images) x 3 x \(height) x \(width) (\(images * 3 * height * width) expected)")
        }
        let (gh, gw) = (height / p, width / p)
        let patches = gh * gw, tokens = 1 + patches, rows = images * tokens
        let patchPositions = ViTPositions.resize(positions[w...], grid: c.grid, width: w, rows: gh, cols: gw)

        // Patch embedding as one product: im2col rows [c][ky][kx] per patch, times conv_proj.
        let k = 3 * p * p
        var cols = [Float](repeating: 0, count: images * patches * k)
        for n in 0..<images {
            for py in 0..<gh {
                for px in 0..<gw {
                    let row = ((n * gh + py) * gw + px) * k
                    for ch in 0..<3 {
                        for ky in 0..<p {
                            let src = ((n * 3 + ch) * height + py * p + ky) * width + px * p
                            let dst = row + (ch * p + ky) * p
                            for kx in 0..<p { cols[dst + kx] = input[src + kx] }
                        }
                    }
                }
            }
        }
        var embedded = [Float](repeating: 0, count: images * patches * w)
        let projection = TransformerLinear(weight: patchWeight, bias: patchBias, outFeatures: w, inFeatures: k)
        cols.withUnsafeBufferPointer { a in
            embedded.withUnsafeMutableBufferPointer { projection.apply(a.baseAddress!, rows: images * patches, into: $0.baseAddress!) }
        }
        // Class token, then the patches, each plus its position.
        var x = [Float](repeating: 0, count: rows * w)
        for n in 0..<images {
            for ch in 0..<w { x[n * tokens * w + ch] = classToken[ch] + positions[ch] }
            for i in 0..<patches {
                let dst = (n * tokens + 1 + i) * w, src = (n * patches + i) * w
                for ch in 0..<w { x[dst + ch] = embedded[src + ch] + patchPositions[i * w + ch] }
            }
        }
        var scratch = [Float](repeating: 0, count: rows * max(4 * w, w + c.mlpWidth))
        x.withUnsafeMutableBufferPointer { xp in
            scratch.withUnsafeMutableBufferPointer { sp in
                for block in blocks {
                    block.apply(xp.baseAddress!, rows: rows, tokens: tokens, heads: c.heads, scratch: sp.baseAddress!)
                }
                norm.apply(xp.baseAddress!, rows: rows)
            }
        }
        var features = [Float](), patchTokens = [Float]()
        features.reserveCapacity(images * w)
        patchTokens.reserveCapacity(images * patches * w)
        for n in 0..<images {
            features += x[n * tokens * w..<(n * tokens + 1) * w]
            patchTokens += x[(n * tokens + 1) * w..<(n + 1) * tokens * w]
        }
        var logits: [Float]?
        if let head {
            var out = [Float](repeating: 0, count: images * head.outFeatures)
            features.withUnsafeBufferPointer { f in
                out.withUnsafeMutableBufferPointer { head.apply(f.baseAddress!, rows: images, into: $0.baseAddress!) }
            }
            logits = out
        }
        return ViTOutput(
            images: images, width: w, patches: patches, gridHeight: gh, gridWidth: gw, features: features, logits: logits,
            tokens: patchTokens)
    }
}
