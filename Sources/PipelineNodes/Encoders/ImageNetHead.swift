import PipelineCore
import PipelineModels

/// Labels an image with the ImageNet-1k classes of EfficientNet-Lite0: the `top_k` classes
/// with their names and softmax probabilities.
///
/// Takes an image or tensor (running the whole network, prepared as `encoder.image` does)
/// or an embedding from `encoder.image` (running only the classifier). Shares the loaded
/// model with `encoder.image`.
final class ImageNetHead: PipelineNode {
    static let type = "head.imagenet"
    static let summary = "Top-k ImageNet labels (names and probabilities) of an image or an image embedding."
    static let inputs = [PortSpec("image", .any, doc: "an image, a [3, h, w] tensor, or an encoder.image embedding")]
    static let outputs = [
        PortSpec("labels", .json, doc: "{path?, tile?, top: [{index, label, probability}]}, best first")
    ]
    static let options = [
        OptionSpec("model", .string, default: "efficientnet-lite0", doc: "a name in the model folder, or a path to one"),
        OptionSpec("top_k", .int, default: 5, range: 1...1000, doc: "how many classes to report"),
    ]
    static let example = """
        - id: labels
          type: head.imagenet
          inputs: { image: decode.image }
          with: { top_k: 3 }
        """

    private let model: ImageModel
    private let names: ClassNames
    private let topK: Int

    init(options: Options, context: NodeContext) throws {
        let option = options.string("model") ?? "efficientnet-lite0"
        model = try SharedImageModels.load(option)
        guard let names = model.names else {
            throw NodeError("model '\(option)' has no imagenet-classes.txt (run scripts/fetch-models)")
        }
        self.names = names
        topK = options.int("top_k") ?? 5
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        let logits: [Float]
        var path: String?
        var tile: Int?
        if case .payload(let embedding as Embedding) = input.value {
            guard embedding.model == model.name, embedding.vector.count == model.network.featureSize else {
                throw NodeError("the embedding comes from \(embedding.model) (\(embedding.vector.count) numbers), not \(model.name)")
            }
            logits = try model.network.classify(features: embedding.vector)
            (path, tile) = (embedding.path, embedding.tile)
        } else {
            let image = try ImageInput.from(input.value, size: model.network.config.imageSize)
            do {
                logits = try model.network.forward(image.data, images: 1, height: image.height, width: image.width).logits
            } catch {
                throw NodeError((image.path.map { "\($0): " } ?? "") + "\(error)")
            }
            (path, tile) = (image.path, image.tile)
        }
        let top = ClassScore.top(logits[...], k: topK).map { score -> Value in
            ["index": .int(score.index), "label": .string(names[score.index]),
             "probability": .double((score.probability * 1e6).rounded() / 1e6)]
        }
        var record: [String: Value] = ["top": .array(top)]
        if let path { record["path"] = .string(path) }
        if let tile { record["tile"] = .int(tile) }
        try output.emit(.object(record))
    }
}
