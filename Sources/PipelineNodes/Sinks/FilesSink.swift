import Foundation
import PipelineCore

/// Writes each packet's value to its own file, named from a template, atomically.
final class FilesSink: PipelineNode, FilePublisher {
    static let type = "sink.files"
    static let summary = "Writes each value to a file named from a template (text, bytes or JSON)."
    static let inputs = [PortSpec("value", .any, doc: "text and bytes are written as they are; other values as JSON")]
    static let outputs = [PortSpec("path", .path, doc: "the path written")]
    static let options = [
        OptionSpec("dir", .string, required: true, doc: "output directory (created if missing)"),
        OptionSpec("name", .string, default: "{stem}.txt",
            doc: "file name template: {name} (item's file name), {stem} (without extension), {ext}, {seq}, {item} (item id with / as _)"),
        OptionSpec("overwrite", .bool, default: true, doc: "replace an existing file; false fails the item instead"),
    ]
    static let example = """
        - id: save
          type: sink.files
          inputs: { value: summary.text }
          with: { dir: out/summaries, name: "{stem}.txt" }
        """

    private let dir: String
    private let template: String
    private let overwrite: Bool

    init(options: Options, context: NodeContext) throws {
        dir = options.string("dir")!
        template = options.string("name")!
        overwrite = options.bool("overwrite")!
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        guard let packet = input.packet(at: 0) else { return }
        let name = Self.render(template, item: packet.item.id, sequence: packet.sequence)
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
            throw NodeError("file name template '\(template)' gave an invalid name '\(name)'")
        }
        let path = (dir as NSString).appendingPathComponent(name)
        if !overwrite && FileManager.default.fileExists(atPath: path) {
            throw NodeError("\(path) exists and overwrite is false")
        }
        let bytes: [UInt8]
        switch packet.value {
        case .string(let s): bytes = Array(s.utf8)
        case .bytes(let d): bytes = Array(d)
        case let other: bytes = Array((other.jsonString(pretty: true) + "\n").utf8)
        }
        try AtomicFile.write(bytes, to: path)
        output.published(path)
        try output.emit(.string(path))
    }

    static func publishedPaths(_ options: Options) -> [(path: String, isDirectory: Bool)] {
        [(options.string("dir")!, true)]
    }

    static func render(_ template: String, item: String, sequence: Int) -> String {
        let name = (item as NSString).lastPathComponent
        let ext = (name as NSString).pathExtension
        let stem = (name as NSString).deletingPathExtension
        return template
            .replacingOccurrences(of: "{name}", with: name)
            .replacingOccurrences(of: "{stem}", with: stem)
            .replacingOccurrences(of: "{ext}", with: ext)
            .replacingOccurrences(of: "{seq}", with: String(sequence))
            .replacingOccurrences(of: "{item}", with: item.replacingOccurrences(of: "/", with: "_"))
    }
}
