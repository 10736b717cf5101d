import PipelineCore
import PipelineModels

/// Embeds an image with EfficientNet-Lite0: the 1280 numbers of its globally pooled last
/// feature map (before the ImageNet classifier), and that map itself as tokens for a fusion
/// connector (`fusion.projector`, `fusion.resampler`): 7 x 7 = 49 tokens of 1280 at 224 x 224,
/// more for a larger tensor input.
///
/// Images (decoded files, video frames, `image.tiles` tiles) are made RGB, stretched to
/// 224 x 224 and scaled `(x − 127) / 128`; a `tensor` payload is used as given. The model is
/// loaded once per process and shared by every copy and by `head.imagenet`.
final class ImageEncoder: PipelineNode {
    static let type = "encoder.image"
    static let summary = "Embeds an image with EfficientNet-Lite0 (1280-d pooled feature)."
    static let inputs = [PortSpec("image", .any, doc: "an image (or tile), or a prepared [3, h, w] tensor")]
    static let outputs = [
        PortSpec("embedding", .embedding, doc: "an embedding payload (model, path, tile, vector), or a JSON number array with `format: json`"),
        PortSpec("tokens", .tensor,
            doc: "the feature map as a tensor, row-major cells: the head's [rows·columns, 1280] (after its ReLU6, before pooling), "
                + "or with `tokens: stride16` the stride-16 map with 2 x 2 cells merged, [rows·columns, 448], "
                + "or with `tokens: stride16-unmerged` that map one token per cell, [rows·columns, 112]"),
    ]
    static let options = [
        OptionSpec("model", .string, default: "efficientnet-lite0", doc: "a name in the model folder, or a path to one"),
        OptionSpec("format", .choice(["payload", "json"]), default: "payload",
            doc: "emit an embedding payload or a plain JSON number array"),
        OptionSpec("tokens", .choice(ImageTokenKind.names), default: "head",
            doc: "which map the `tokens` port carries: the head's 7 x 7 x 1280 at 224 x 224, or the stride-16 stage's "
                + "14 x 14 x 112, which keeps small objects' shape and colour: with each 2 x 2 group of cells merged into one "
                + "token (stride16: 7 x 7 x 448) or one token per cell (stride16-unmerged: 196 x 112)"),
    ]
    static let example = """
        - id: embed
          type: encoder.image
          inputs: { image: decode.image }
        """

    private let model: ImageModel
    private let json: Bool
    /// nil: the head's map; else the stride-16 map, merged 2 x 2 or not.
    private let stride16Merged: Bool?

    init(options: Options, context: NodeContext) throws {
        model = try SharedImageModels.load(options.string("model") ?? "efficientnet-lite0")
        json = options.string("format") == "json"
        stride16Merged = ImageTokenKind(option: options.string("tokens")).stride16Merged
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        let image = try ImageInput.from(input.value, size: model.network.config.imageSize)
        let out: EfficientNetOutput, tokens: [Float], rows: Int, columns: Int, width: Int
        do {
            if let merged = stride16Merged {
                (out, tokens, rows, columns, width) = try model.network.forwardStride16Tokens(
                    image.data, height: image.height, width: image.width, merged: merged)
            } else {
                (out, tokens, rows, columns) = try model.network.forwardTokens(image.data, height: image.height, width: image.width)
                width = out.featureSize
            }
        } catch {
            throw NodeError((image.path.map { "\($0): " } ?? "") + "\(error)")
        }
        let embedding = Embedding(vector: out.features, model: model.name, path: image.path, tile: image.tile)
        try output.emit(json ? embedding.json : .payload(embedding), to: "embedding")
        try output.emit(
            .payload(TensorPayload(shape: [rows * columns, width], data: tokens, path: image.path, layout: "NC")),
            to: "tokens")
    }
}
