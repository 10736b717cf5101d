import Foundation
import PipelineCore

/// Writes one JSON line per packet. The file appears atomically when the run ends
/// (written under a temporary name, then renamed), unless `append` is set.
///
/// Under `pipeline watch` (a run with an item committer) an appending sink does not write its
/// lines itself: it stages them on the item, and the watch ledger appends them with the
/// item's `done` row and records the file's committed length, so each item's lines appear
/// exactly once across crashes (a restart cuts uncommitted bytes), in order of item completion,
/// and only for items that succeed. A non-appending one is refused by `watch`: its file would
/// appear only when the run ends, which a watch never reaches.
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
            doc: "append to an existing file line by line instead of replacing it atomically at the end; "
                + "under `pipeline watch` each item's lines are appended exactly once, when the item is done"),
    ]
    static let example = """
        - id: out
          type: sink.jsonl
          inputs: { record: info.record }
          with: { path: out/info.jsonl }
        """

    private let envelope: Bool
    private let path: String
    private let context: NodeContext
    private var atomic: AtomicFile?
    private var appending: FileHandle?

    init(options: Options, context: NodeContext) throws {
        guard context.copy == 0 else { throw NodeError("sink.jsonl writes one file and runs as one copy") }
        let path = options.string("path")!
        self.path = path
        self.context = context
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
        } else if context.itemsAreCommitted() {
            output.stageAppend(Array(line.utf8), to: path)
        } else {
            appending?.write(Data(line.utf8))
        }
    }

    static func publishedPaths(_ options: Options) -> [(path: String, isDirectory: Bool)] {
        [(options.string("path")!, false)]
    }

    static let watchGuarantee =
        "with append: true, exactly once per item: an item's lines are appended with its `done` row in the ledger, "
        + "which records the file's committed length; a restart cuts bytes past it. Lines come in order of item "
        + "completion; a failed item writes none. Without append the file would appear only at the end of the run: "
        + "refused under watch"

    static func watchProblem(_ options: Options) -> String? {
        guard options.bool("append") != true else { return nil }
        return "sink.jsonl writes \(options.string("path") ?? "its file") only when the run ends, which a watch never reaches; "
            + "set `append: true` (each item's lines are then appended exactly once, when the item is done), "
            + "or write one file per item with sink.files"
    }

    func finish(_ output: NodeOutput) throws {
        try atomic?.commit()
        atomic = nil
        try appending?.synchronize()
        try appending?.close()
    }
}
