import PipelineCore
import PipelineMedia

/// Decodes a still image file (PNG, JPEG, WebP, BMP, TIFF, GIF's first frame, …) with FFmpeg.
///
/// The EXIF orientation is applied so the picture is upright. With `width` and `height`
/// the image is resized on the way out under `policy`. A file FFmpeg cannot read fails its
/// item with the path and FFmpeg's reason; other items go on.
final class ImageDecode: PipelineNode {
    static let type = "image.decode"
    static let summary = "Decodes an image file (PNG, JPEG, WebP, …) into pixels, upright; optionally resized."
    static let inputs = [PortSpec("path", .path)]
    static let outputs = [
        PortSpec("image", .image, doc: "8-bit RGB, or RGBA / gray as `alpha` says"),
        PortSpec("info", .json, doc: "{path, codec, pixel_format, width, height, stored_width, stored_height, bit_depth, has_alpha, orientation}"),
    ]
    static let options = [
        OptionSpec("alpha", .choice(["keep", "drop", "add"]), default: "keep",
            doc: "keep: RGBA when the file has alpha, RGB otherwise; drop: always RGB; add: always RGBA"),
        OptionSpec("orientation", .bool, default: true, doc: "apply the EXIF orientation so the image is upright"),
        OptionSpec("width", .int, default: 0, range: 0...65536, doc: "resize to this width (0: keep; with height 0, follow the aspect ratio)"),
        OptionSpec("height", .int, default: 0, range: 0...65536, doc: "resize to this height (0: keep; with width 0, follow the aspect ratio)"),
        OptionSpec("policy", .choice(MediaSupport.policies), default: "stretch",
            doc: "how to fit width×height: stretch, letterbox (pad), center-crop, or shorter-side (= min(width, height))"),
        OptionSpec("fill", .int, default: 0, range: 0...255, doc: "gray level of letterbox padding"),
        OptionSpec("algorithm", .choice(MediaSupport.algorithms), default: "bilinear", doc: "swscale interpolation"),
        OptionSpec("strict", .bool, default: true, doc: "fail damaged files (a truncated JPEG) instead of decoding what is there"),
    ]
    static let example = """
        - id: img
          type: image.decode
          inputs: { path: src.path }
          with: { width: 224, height: 224, policy: center-crop }
        """

    private let decodeOptions: ImageDecodeOptions
    private let resize: ImageResize.Request?

    init(options: Options, context: NodeContext) throws {
        MediaSupport.configureLogging
        let channels: ImageDecodeOptions.Channels
        switch options.string("alpha")! {
        case "drop": channels = .rgb
        case "add": channels = .rgba
        default: channels = .auto
        }
        let algorithm = MediaSupport.algorithm(options.string("algorithm")!)
        decodeOptions = ImageDecodeOptions(channels: channels, applyOrientation: options.bool("orientation")!,
                                           algorithm: algorithm, strict: options.bool("strict")!)
        let width = options.int("width")!, height = options.int("height")!
        resize = width == 0 && height == 0 ? nil : ImageResize.Request(
            width: width, height: height,
            policy: MediaSupport.policy(options.string("policy")!, fill: options.int("fill")!), algorithm: algorithm)
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        let path = try MediaSupport.path(input)
        var image = try MediaSupport.attempt(path) { try ImageDecoder.decode(path: path, options: decodeOptions) }
        if let resize {
            image = try MediaSupport.attempt(path) { try resize.apply(to: image) }
        }
        try output.emit(.payload(ImagePayload(image: image, path: path)), to: "image")
        try output.emit(Self.info(image, path: path), to: "info")
    }

    /// The JSON description of a decoded image and its file.
    static func info(_ image: Image, path: String) -> Value {
        var fields: [String: Value] = [
            "path": .string(path), "width": .int(image.width), "height": .int(image.height),
            "format": .string(ImagePayload.formatName(channels: image.channels)),
        ]
        if let source = image.source {
            fields["codec"] = .string(source.codec)
            fields["pixel_format"] = .string(source.pixelFormat)
            fields["stored_width"] = .int(source.storedWidth)
            fields["stored_height"] = .int(source.storedHeight)
            fields["bit_depth"] = .int(source.bitDepth)
            fields["has_alpha"] = .bool(source.hasAlpha)
            fields["orientation"] = .int(source.orientation.rawValue)
        }
        return .object(fields)
    }
}
