import Foundation
import PipelineCore

/// Lists a directory (optionally recursively) and emits the files that pass the filters.
final class FolderSource: PipelineNode {
    static let type = "source.folder"
    static let summary = "Emits the files of a directory, filtered by extension and pattern, sorted."
    static let inputs: [PortSpec] = []
    static let outputs = [PortSpec("path", .path, doc: "the file's path (also the item id)")]
    static let options = [
        OptionSpec("dir", .string, required: true, doc: "directory to list"),
        OptionSpec("recursive", .bool, default: false, doc: "descend into subdirectories"),
        OptionSpec("extensions", .strings, default: [], doc: "keep only these extensions, case-insensitive (e.g. [jpg, png]); empty keeps all"),
        OptionSpec("pattern", .string, default: "*", doc: "glob the file name must match"),
        OptionSpec("hidden", .bool, default: false, doc: "include names starting with a dot"),
        OptionSpec("limit", .int, default: 0, range: 0...1e12, doc: "emit at most this many files (0: no limit)"),
    ]
    static let example = """
        - id: photos
          type: source.folder
          with: { dir: inbox, extensions: [jpg, png], recursive: true }
        """

    private let dir: String
    private let recursive: Bool
    private let extensions: Set<String>
    private let pattern: String
    private let hidden: Bool
    private let limit: Int

    init(options: Options, context: NodeContext) throws {
        dir = options.string("dir")!
        recursive = options.bool("recursive")!
        extensions = Set(options.strings("extensions")!.map { $0.lowercased().trimmingPrefix(".") }.map(String.init))
        pattern = options.string("pattern")!
        hidden = options.bool("hidden")!
        limit = options.int("limit")!
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        guard Glob.isDirectory(dir) else {
            throw NodeError(FileManager.default.fileExists(atPath: dir) ? "not a directory: \(dir)" : "no such directory: \(dir)")
        }
        var count = 0
        for path in list(dir) {
            if limit > 0 && count >= limit { break }
            try output.emit(.string(path), item: path)
            count += 1
        }
    }

    private func list(_ directory: String) -> [String] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
        var files: [String] = []
        for name in names where hidden || !name.hasPrefix(".") {
            let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            if Glob.isDirectory(path) {
                if recursive { files += list(path) }
                continue
            }
            let ext = (name as NSString).pathExtension.lowercased()
            if !extensions.isEmpty && !extensions.contains(ext) { continue }
            if pattern != "*" && !Glob.matches(pattern, name) { continue }
            files.append(path)
        }
        return files
    }
}
