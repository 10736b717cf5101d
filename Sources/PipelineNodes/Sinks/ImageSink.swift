import Foundation
import PipelineCore
import PipelineMedia

/// Writes each image to its own PNG or JPEG file, named from a template, atomically.
final class ImageSink: PipelineNode, FilePublisher {
    static let type = "sink.image"
    static let summary = "Writes each image as a PNG or JPEG file named from a template, atomically."
    static let inputs = [PortSpec("image", .image)]
    static let outputs = [PortSpec("path", .path, doc: "the path written")]
    static let options = [
        OptionSpec("dir", .string, required: true, doc: "output directory (created if missing)"),
        OptionSpec("name", .string, default: "{stem}-{seq}.png", doc: "file name template: " + MediaFileName.tokens),
        OptionSpec("format", .choice(["auto", "png", "jpeg"]), default: "auto",
            doc: "auto: from the name's extension (.png, .jpg, .jpeg)"),
        OptionSpec("quality", .int, default: 90, range: 1...100, doc: "JPEG quality (as libjpeg's scale)"),
        OptionSpec("overwrite", .bool, default: true, doc: "replace an existing file; false fails the item instead"),
    ]
    static let example = """
        - id: thumbs
          type: sink.image
          inputs: { image: small.image }
          with: { dir: out/thumbs, name: "{stem}-{ms}.jpg", quality: 85 }
        """

    private let dir: String
    private let template: String
    private let format: ImageFileFormat
    private let quality: Int
    private let overwrite: Bool

    init(options: Options, context: NodeContext) throws {
        MediaSupport.configureLogging
        dir = options.string("dir")!
        template = options.string("name")!
        switch options.string("format")! {
        case "png": format = .png
        case "jpeg": format = .jpeg
        default:
            let ext = (template as NSString).pathExtension
            guard let f = ImageFileFormat(pathExtension: ext) else {
                throw NodeError("sink.image: cannot tell the format from name '\(template)': end it in .png, .jpg or .jpeg, or set format")
            }
            format = f
        }
        quality = options.int("quality")!
        overwrite = options.bool("overwrite")!
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        guard let packet = input.packet(at: 0) else { return }
        let payload = try MediaSupport.image(input)
        let path = try MediaFileName.path(template, dir: dir, packet: packet)
        if !overwrite && FileManager.default.fileExists(atPath: path) {
            throw NodeError("\(path) exists and overwrite is false")
        }
        let bytes = try MediaSupport.attempt(path) {
            try ImageWriter.encode(payload.image, format: format, quality: quality, path: path)
        }
        try AtomicFile.write(bytes, to: path)
        output.published(path)
        try output.emit(.string(path))
    }

    static func publishedPaths(_ options: Options) -> [(path: String, isDirectory: Bool)] {
        [(options.string("dir")!, true)]
    }
}
