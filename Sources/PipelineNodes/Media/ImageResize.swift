import PipelineCore
import PipelineMedia

/// Resizes images to a size under an aspect policy (stretch, letterbox, center-crop, shorter-side).
final class ImageResize: PipelineNode {
    static let type = "image.resize"
    static let summary = "Resizes images: stretch, letterbox (pad), center-crop, or shorter side to a size."
    static let inputs = [PortSpec("image", .image)]
    static let outputs = [PortSpec("image", .image, doc: "the resized image; path, pts and tile are kept")]
    static let options = [
        OptionSpec("width", .int, default: 224, range: 0...65536, doc: "target width (0: follow the aspect ratio from height)"),
        OptionSpec("height", .int, default: 224, range: 0...65536, doc: "target height (0: follow the aspect ratio from width)"),
        OptionSpec("policy", .choice(MediaSupport.policies), default: "stretch",
            doc: "stretch (exact size, aspect not kept), letterbox (fit inside, pad with fill), center-crop (cover, cut the centre), shorter-side (shorter side = min(width, height), no crop)"),
        OptionSpec("fill", .int, default: 0, range: 0...255, doc: "gray level of letterbox padding (114 as YOLO does)"),
        OptionSpec("algorithm", .choice(MediaSupport.algorithms), default: "bilinear", doc: "swscale interpolation"),
    ]
    static let example = """
        - id: small
          type: image.resize
          inputs: { image: img.image }
          with: { width: 320, height: 240, policy: letterbox }
        """

    /// A resize the media nodes apply: a size (one side may be 0 to follow the aspect ratio),
    /// a policy and an interpolation.
    struct Request: Sendable {
        var width: Int
        var height: Int
        var policy: AspectPolicy
        var algorithm: ScaleAlgorithm

        /// Resizes `image` as requested. A 0 side follows the source's aspect ratio, and
        /// the policy does not matter then (the aspect ratio is kept exactly).
        func apply(to image: Image) throws -> Image {
            guard width > 0 || height > 0 else { return image }
            guard image.width > 0, image.height > 0 else {
                throw MediaError.invalidArgument("empty \(image.width)x\(image.height) image")
            }
            if width == 0 || height == 0 {
                let aspect = Double(image.width) / Double(image.height)
                let w = width > 0 ? width : max(1, Int((Double(height) * aspect).rounded()))
                let h = height > 0 ? height : max(1, Int((Double(width) / aspect).rounded()))
                return try image.scaled(width: w, height: h, algorithm: algorithm)
            }
            return try image.resized(width: width, height: height, policy: policy, algorithm: algorithm)
        }
    }

    private let request: Request

    init(options: Options, context: NodeContext) throws {
        let width = options.int("width")!, height = options.int("height")!
        guard width > 0 || height > 0 else { throw NodeError("image.resize needs width or height above 0") }
        request = Request(width: width, height: height,
                          policy: MediaSupport.policy(options.string("policy")!, fill: options.int("fill")!),
                          algorithm: MediaSupport.algorithm(options.string("algorithm")!))
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        var payload = try MediaSupport.image(input)
        payload.image = try MediaSupport.attempt(payload.path) { try request.apply(to: payload.image) }
        try output.emit(.payload(payload))
    }
}
