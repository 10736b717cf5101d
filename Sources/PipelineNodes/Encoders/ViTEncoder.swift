import PipelineCore
import PipelineMedia
import PipelineModels

/// Encodes an image with a Vision Transformer (torchvision's `VisionTransformer` weights in
/// safetensors): the class token as the embedding, the patch tokens as a `[patches, width]`
/// tensor for later fusion, and the head's logits when the weights have a head.
///
/// Images (decoded files, video frames, `image.tiles` tiles) are made RGB, stretched to
/// `image_size` x `image_size` and normalised with ImageNet's mean and std, as torchvision's
/// ViTs expect; a `tensor` payload (`image.normalize`) is used as given, at its own size (both
/// sides multiples of the patch). Sizes other than the weights' own resize the position
/// embeddings bicubically, as torchvision's `interpolate_embeddings` does. One load is shared
/// by every copy naming the same weights.
final class ViTEncoder: PipelineNode {
    static let type = "encoder.vit"
    static let summary = "Embeds an image with a Vision Transformer (class token, patch tokens, head logits)."
    static let inputs = [PortSpec("image", .any, doc: "an image (or tile), or a prepared [3, h, w] tensor")]
    static let outputs = [
        PortSpec("embedding", .embedding, doc: "the class token after the final LayerNorm (an embedding payload)"),
        PortSpec("tokens", .tensor, doc: "the patch tokens after the final LayerNorm, shape [patches, width], row-major"),
        PortSpec("logits", .json, doc: "the head's logits as a number array (nothing when the weights have no head)"),
    ]
    static let options = [
        OptionSpec("model", .string, required: true,
            doc: "a .safetensors file, or a folder holding model.safetensors (a name in the model folder or a path)"),
        OptionSpec("image_size", .int, default: 0, range: 0...4096,
            doc: "side images are stretched to (a multiple of the patch size); 0: the size the weights were made for"),
    ]
    static let example = """
        - id: vit
          type: encoder.vit
          inputs: { image: decode.image }
          with: { model: ~/models/vit/model.safetensors, image_size: 224 }
        """

    private let network: ViTNetwork
    private let size: Int

    init(options: Options, context: NodeContext) throws {
        network = try SharedViTModels.load(options.string("model")!)
        let config = network.model.config
        let size = options.int("image_size") ?? 0
        self.size = size == 0 ? config.imageSize : size
        guard self.size % config.patchSize == 0 else {
            throw NodeError("image_size \(size) is not a multiple of the model's \(config.patchSize)-pixel patches")
        }
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        let image = try ImageInput.from(
            input.value, size: size, mean: ImageTensor.imagenetMean, std: ImageTensor.imagenetStd, scale: 1 / 255)
        let out: ViTOutput
        do {
            out = try network.model.forward(image.data, images: 1, height: image.height, width: image.width)
        } catch {
            throw NodeError((image.path.map { "\($0): " } ?? "") + "\(error)")
        }
        let embedding = Embedding(vector: out.features, model: network.name, path: image.path, tile: image.tile)
        try output.emit(.payload(embedding), to: "embedding")
        try output.emit(
            .payload(TensorPayload(shape: [out.patches, out.width], data: out.tokens, path: image.path, layout: "NC")),
            to: "tokens")
        if let logits = out.logits {
            try output.emit(.array(logits.map { .double(Double($0.description) ?? Double($0)) }), to: "logits")
        }
    }
}
