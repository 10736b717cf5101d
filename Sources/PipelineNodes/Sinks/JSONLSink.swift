import Foundation
import PipelineCore

/// Writes one JSON line per packet. The file appears atomically when the run ends
/// (written under a temporary name, then renamed), unless `append` is set.
final class JSONLSink: PipelineNode, FilePublisher {
    static let type = "sink.jsonl"
    static let summary = "Writes each record as one JSON line; the file appears atomically at the end."
    static let inputs = [PortSpec("record", .any, doc: "any value; media values write their summary")]
    static let outputs: [PortSpec] = []
    static let options = [
        OptionSpec("path", .string, required: true, doc: "output file (parent directories are created)"),
        OptionSpec("envelope", .bool, default: true,
            doc: "wrap each record as {item, sequence, timestamp, value}; false writes the bare value"),
        OptionSpec("append", .bool, default: false,
            doc: "append to an existing file line by line instead of replacing it atomically at the end"),
    ]
    static let example = """
        - id: out
          type: sink.jsonl
          inputs: { record: info.record }
          with: { path: out/info.jsonl }
        """

    private let envelope: Bool
    private var atomic: AtomicFile?
    private var appending: FileHandle?

    init(options: Options, context: NodeContext) throws {
        guard context.copy == 0 else { throw NodeError("sink.jsonl writes one file and runs as one copy") }
        let path = options.string("path")!
        envelope = options.bool("envelope")!
        if options.bool("append")! {
            let dir = (path as NSString).deletingLastPathComponent
            if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
            if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
            guard let handle = FileHandle(forWritingAtPath: path) else { throw NodeError("cannot open \(path) for appending") }
            handle.seekToEndOfFile()
            appending = handle
        } else {
            atomic = try AtomicFile(path: path)
        }
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        let value: Value
        if envelope, let packet = input.packet(at: 0) {
            var fields: [String: Value] = ["item": .string(packet.item.id), "sequence": .int(packet.sequence), "value": packet.value]
            if let t = packet.timestamp { fields["timestamp"] = .double(t) }
            value = .object(fields)
        } else {
            value = input.value
        }
        let line = value.jsonString() + "\n"
        if let atomic {
            try atomic.write(line)
        } else {
            appending?.write(Data(line.utf8))
        }
    }

    static func publishedPaths(_ options: Options) -> [(path: String, isDirectory: Bool)] {
        [(options.string("path")!, false)]
    }

    func finish(_ output: NodeOutput) throws {
        try atomic?.commit()
        atomic = nil
        try appending?.synchronize()
        try appending?.close()
    }
}
