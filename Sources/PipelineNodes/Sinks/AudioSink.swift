import Foundation
import PipelineCore
import PipelineMedia

/// Writes each audio packet (a window, a clip) to its own WAV file, named from a template,
/// atomically.
final class AudioSink: PipelineNode, FilePublisher {
    static let type = "sink.audio"
    static let summary = "Writes each audio packet as a WAV file named from a template, atomically."
    static let inputs = [PortSpec("audio", .audio)]
    static let outputs = [PortSpec("path", .path, doc: "the path written")]
    static let options = [
        OptionSpec("dir", .string, required: true, doc: "output directory (created if missing)"),
        OptionSpec("name", .string, default: "{stem}-{seq}.wav", doc: "file name template: " + MediaFileName.tokens),
        OptionSpec("encoding", .choice(["pcm16", "float32"]), default: "pcm16",
            doc: "pcm16: 16-bit integers (clipped to [-1, 1]), playable everywhere; float32: exact samples"),
        OptionSpec("overwrite", .bool, default: true, doc: "replace an existing file; false fails the item instead"),
    ]
    static let example = """
        - id: clips
          type: sink.audio
          inputs: { audio: audio.audio }
          with: { dir: out/clips, name: "{stem}-{ms}.wav" }
        """

    private let dir: String
    private let template: String
    private let encoding: WAVWriter.Encoding
    private let overwrite: Bool

    init(options: Options, context: NodeContext) throws {
        dir = options.string("dir")!
        template = options.string("name")!
        encoding = options.string("encoding") == "float32" ? .float32 : .pcm16
        overwrite = options.bool("overwrite")!
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        guard let packet = input.packet(at: 0) else { return }
        guard let payload = input.value.audioPayload else { throw NodeError("expected audio, got \(input.value.kindName)") }
        let path = try MediaFileName.path(template, dir: dir, packet: packet)
        if !overwrite && FileManager.default.fileExists(atPath: path) {
            throw NodeError("\(path) exists and overwrite is false")
        }
        let bytes = try MediaSupport.attempt(path) { try WAVWriter.encode(payload.audio, encoding: encoding) }
        try AtomicFile.write(bytes, to: path)
        output.published(path)
        try output.emit(.string(path))
    }

    static func publishedPaths(_ options: Options) -> [(path: String, isDirectory: Bool)] {
        [(options.string("dir")!, true)]
    }
}
