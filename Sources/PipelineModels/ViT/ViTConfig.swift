/// The shape of a torchvision `VisionTransformer`, read off its weights.
///
/// Every size is in the tensor shapes except the number of attention heads: that comes from
/// the caller, from the safetensors `__metadata__` key `num_heads`, or, for the widths of
/// torchvision's own models (`vit_b_*` 768 → 12, `vit_l_*` 1024 → 16, `vit_h_14` 1280 → 16),
/// from that table; otherwise loading fails rather than guess.
public struct ViTConfig: Sendable, Equatable {
    /// Side of the square patches (`conv_proj` kernel and stride).
    public var patchSize: Int
    /// The image side the position embeddings were made for (`patchSize · grid`).
    public var imageSize: Int
    /// Token width (`hidden_dim`).
    public var width: Int
    public var layers: Int
    public var heads: Int
    /// Hidden width of the feed-forward blocks (`mlp_dim`).
    public var mlpWidth: Int
    /// Classes of `heads.head`, nil when the file has no head.
    public var classes: Int?
    /// torchvision builds every LayerNorm with eps 1e-6.
    public var layerNormEps: Float = 1e-6

    /// Patches per side at `imageSize`.
    public var grid: Int { imageSize / patchSize }
    public var headSize: Int { width / heads }

    /// Widths of torchvision's ViT variants and their head counts.
    static let torchvisionHeads = [768: 12, 1024: 16, 1280: 16]

    public init(
        patchSize: Int, imageSize: Int, width: Int, layers: Int, heads: Int, mlpWidth: Int, classes: Int?,
        layerNormEps: Float = 1e-6
    ) {
        self.patchSize = patchSize
        self.imageSize = imageSize
        self.width = width
        self.layers = layers
        self.heads = heads
        self.mlpWidth = mlpWidth
        self.classes = classes
        self.layerNormEps = layerNormEps
    }

    /// Reads the configuration from the tensor shapes of a torchvision state dict.
    public init(inferringFrom file: SafetensorsFile, heads: Int? = nil) throws(ViTError) {
        func bad(_ reason: String) -> ViTError { .badWeights(path: file.path, reason: reason) }
        func shape(_ name: String, _ expected: String) throws(ViTError) -> [Int] {
            guard let info = file.tensors[name] else {
                throw bad("no tensor '\(name)' (expected shape \(expected)): not a torchvision VisionTransformer")
            }
            return info.shape
        }
        let conv = try shape("conv_proj.weight", "[width, 3, patch, patch]")
        guard conv.count == 4, conv[1] == 3, conv[2] == conv[3], conv[0] > 0, conv[2] > 0 else {
            throw bad("tensor 'conv_proj.weight' has shape \(conv), expected [width, 3, patch, patch]")
        }
        let (width, patch) = (conv[0], conv[2])
        let positions = try shape("encoder.pos_embedding", "[1, 1 + grid², \(width)]")
        let grid = positions.count == 3 ? Int(Double(max(0, positions[1] - 1)).squareRoot().rounded()) : 0
        guard positions.count == 3, positions[0] == 1, positions[2] == width, grid > 0, grid * grid + 1 == positions[1]
        else {
            throw bad("tensor 'encoder.pos_embedding' has shape \(positions), expected [1, 1 + grid², \(width)]")
        }
        var layers = 0
        while file.tensors["encoder.layers.encoder_layer_\(layers).ln_1.weight"] != nil { layers += 1 }
        guard layers > 0 else {
            throw bad("no tensor 'encoder.layers.encoder_layer_0.ln_1.weight' (expected shape [\(width)]): no encoder layers")
        }
        let mlp = try shape("encoder.layers.encoder_layer_0.mlp.0.weight", "[mlp_dim, \(width)]")
        guard mlp.count == 2, mlp[1] == width, mlp[0] > 0 else {
            throw bad("tensor 'encoder.layers.encoder_layer_0.mlp.0.weight' has shape \(mlp), expected [mlp_dim, \(width)]")
        }
        if file.tensors["heads.pre_logits.weight"] != nil {
            throw bad("heads.pre_logits (a representation layer) is not supported; only heads.head")
        }
        var classes: Int?
        if let head = file.tensors["heads.head.weight"] {
            guard head.shape.count == 2, head.shape[1] == width, head.shape[0] > 0 else {
                throw bad("tensor 'heads.head.weight' has shape \(head.shape), expected [classes, \(width)]")
            }
            classes = head.shape[0]
        }
        let metadataHeads = file.metadata["num_heads"].flatMap { Int($0) }
        guard let heads = heads ?? metadataHeads ?? Self.torchvisionHeads[width] else {
            throw bad(
                "cannot tell the number of attention heads for width \(width): store it as __metadata__ num_heads "
                    + "or pass it")
        }
        guard heads > 0, width % heads == 0 else {
            throw bad("width \(width) is not a multiple of \(heads) attention heads")
        }
        self.init(
            patchSize: patch, imageSize: patch * grid, width: width, layers: layers, heads: heads, mlpWidth: mlp[0],
            classes: classes)
    }
}
