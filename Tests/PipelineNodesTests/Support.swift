import Foundation
import PipelineCore
import PipelineNodes
import Synchronization

/// A built-in node type by its YAML name.
func builtin(_ name: String) -> any PipelineNode.Type {
    guard let type = BuiltinNodes.all.first(where: { $0.type == name }) else { fatalError("no built-in node \(name)") }
    return type
}

/// A fresh temporary directory, removed when the value is released.
final class TempDir {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("nodes-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes a file (creating parent directories) and returns its absolute path.
    @discardableResult
    func file(_ relative: String, _ contents: String = "x") throws -> String {
        try file(relative, bytes: Array(contents.utf8))
    }

    @discardableResult
    func file(_ relative: String, bytes: [UInt8]) throws -> String {
        let full = path + "/" + relative
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: full, contents: Data(bytes)) else {
            throw NodeError("cannot create \(full)")
        }
        return full
    }

    func dir(_ relative: String) throws -> String {
        let full = path + "/" + relative
        try FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
        return full
    }

    func read(_ relative: String) -> String? {
        FileManager.default.contents(atPath: path + "/" + relative).map { String(decoding: $0, as: UTF8.self) }
    }

    func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: path + "/" + relative) }

    /// Names in the directory, sorted (hidden ones included).
    func list(_ relative: String = "") -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path + "/" + relative)) ?? []).sorted()
    }
}

/// Collects the warnings a node reports through its context.
final class Warnings: Sendable {
    private let storage = Mutex<[String]>([])
    var all: [String] { storage.withLock { $0 } }
    var context: NodeContext {
        NodeContext(nodeID: "test", warn: { message in self.storage.withLock { $0.append(message) } })
    }
}

/// Parses one JSON line into a Foundation object.
func parseJSON(_ line: some StringProtocol) -> [String: Any]? {
    (try? JSONSerialization.jsonObject(with: Data(line.utf8), options: [.fragmentsAllowed])) as? [String: Any]
}
