import Foundation
import PipelineCore

/// Describes a file: name, extension, size, modification time.
final class FileInfo: PipelineNode {
    static let type = "file.info"
    static let summary = "Describes a file: {path, name, ext, size, modified}."
    static let inputs = [PortSpec("path", .path)]
    static let outputs = [PortSpec("record", .json)]
    static let options: [OptionSpec] = []

    init(options: Options, context: NodeContext) throws {}

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        guard let path = input.value.stringValue else { throw NodeError("expected a path, got \(input.value.kindName)") }
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: path)
        } catch {
            throw NodeError("cannot stat \(path): no such file")
        }
        let name = (path as NSString).lastPathComponent
        var record: [String: Value] = [
            "path": .string(path), "name": .string(name), "ext": .string((name as NSString).pathExtension.lowercased()),
            "size": .int((attributes[.size] as? Int) ?? 0),
            "kind": .string(attributes[.type] as? FileAttributeType == .typeDirectory ? "directory" : "file"),
        ]
        if let modified = attributes[.modificationDate] as? Date {
            record["modified"] = .string(ISO8601DateFormatter().string(from: modified))
        }
        try output.emit(.object(record))
    }
}
