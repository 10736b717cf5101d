import Foundation
import PipelineCore

/// Reading a whole input file for a node, with the checks every reader wants.
enum FileContents {
    /// The file's bytes, refusing directories, missing files and files over `maxBytes`.
    static func read(_ path: String, maxBytes: Int) throws -> Data {
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: path)
        } catch {
            throw NodeError("cannot read \(path): no such file")
        }
        if attributes[.type] as? FileAttributeType == .typeDirectory { throw NodeError("\(path) is a directory") }
        if let size = attributes[.size] as? Int, size > maxBytes {
            throw NodeError("\(path) is \(size) bytes, over max_bytes \(maxBytes)")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw NodeError("cannot read \(path)") }
        return data
    }
}
