import PipelineCore

/// Sends a path on to one of three branches by its extension: images, audio, or other files,
/// so one watched folder can hold both and each goes through its own decoder and encoder.
final class FileRoute: PipelineNode {
    static let type = "file.route"
    static let summary = "Sends a path to the image, audio or other branch by its extension."
    static let inputs = [PortSpec("path", .path)]
    static let outputs = [
        PortSpec("image", .path, doc: "paths with an image extension"),
        PortSpec("audio", .path, doc: "paths with an audio extension"),
        PortSpec("other", .path, doc: "every other path"),
    ]
    static let options = [
        OptionSpec("image", .strings, default: ["jpg", "jpeg", "png", "webp", "bmp", "gif"],
            doc: "image extensions, case-insensitive"),
        OptionSpec("audio", .strings, default: ["wav", "mp3", "flac", "ogg", "opus", "m4a"],
            doc: "audio extensions, case-insensitive"),
    ]
    static let example = """
        - id: route
          type: file.route
          inputs: { path: inbox.path }
        """

    private let image: Set<String>
    private let audio: Set<String>

    init(options: Options, context: NodeContext) throws {
        image = Set((options.strings("image") ?? []).map { $0.lowercased() })
        audio = Set((options.strings("audio") ?? []).map { $0.lowercased() })
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        guard let path = input.value.stringValue else { throw NodeError("expected a path, got \(input.value.kindName)") }
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let ext = name.contains(".") ? String(name.split(separator: ".").last!).lowercased() : ""
        let port = image.contains(ext) ? "image" : audio.contains(ext) ? "audio" : "other"
        try output.emit(.string(path), to: port)
    }
}
