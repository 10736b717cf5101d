import PipelineCore
import PipelineMedia

/// Turns an image into a normalised float tensor in CHW order, as vision encoders take.
final class ImageNormalize: PipelineNode {
    static let type = "image.normalize"
    static let summary = "Normalises an image to a float CHW tensor: (pixel * scale - mean) / std per channel."
    static let inputs = [PortSpec("image", .image)]
    static let outputs = [PortSpec("tensor", .tensor, doc: "shape [channels, height, width]; alpha is dropped")]
    static let options = [
        OptionSpec("mean", .json, default: "imagenet",
            doc: "per-channel mean: a list of numbers, one number for all channels, or imagenet | clip"),
        OptionSpec("std", .json, default: "imagenet",
            doc: "per-channel std: a list of numbers, one number for all channels, or imagenet | clip"),
        OptionSpec("scale", .double, default: .double(1.0 / 255.0), range: 1e-12...1e12,
            doc: "multiplies each 0–255 pixel before mean and std (1/255 maps to 0–1)"),
    ]
    static let example = """
        - id: tensor
          type: image.normalize
          inputs: { image: small.image }
          with: { mean: clip, std: clip }
        """

    private let mean: [Float]
    private let std: [Float]
    private let scale: Float

    init(options: Options, context: NodeContext) throws {
        mean = try Self.values(options["mean"] ?? "imagenet", name: "mean", presets: [
            "imagenet": ImageTensor.imagenetMean, "clip": ImageTensor.clipMean,
        ])
        std = try Self.values(options["std"] ?? "imagenet", name: "std", presets: [
            "imagenet": ImageTensor.imagenetStd, "clip": ImageTensor.clipStd,
        ])
        guard !std.contains(0) else { throw NodeError("option 'std' contains 0") }
        scale = Float(options.double("scale")!)
    }

    /// Reads a `mean`/`std` option: a preset name, a number, or a list of 1 to 4 numbers.
    static func values(_ value: Value, name: String, presets: [String: [Float]]) throws -> [Float] {
        if let preset = value.stringValue {
            guard let values = presets[preset] else {
                throw NodeError("option '\(name)': unknown preset '\(preset)' (use \(presets.keys.sorted().joined(separator: ", ")) or numbers)")
            }
            return values
        }
        if let d = value.doubleValue { return [Float(d)] }
        guard let list = value.arrayValue, (1...4).contains(list.count) else {
            throw NodeError("option '\(name)': expected 1 to 4 numbers or a preset name, got \(value.jsonString())")
        }
        return try list.map { item in
            guard let d = item.doubleValue else { throw NodeError("option '\(name)': \(item.jsonString()) is not a number") }
            return Float(d)
        }
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        let payload = try MediaSupport.image(input)
        let tensor = try MediaSupport.attempt(payload.path) {
            try ImageTensor(image: payload.image, mean: mean, std: std, scale: scale)
        }
        try output.emit(.payload(TensorPayload(shape: tensor.shape, data: tensor.data, path: payload.path, layout: "CHW")))
    }
}
