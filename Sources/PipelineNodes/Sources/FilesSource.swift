import Foundation
import PipelineCore

/// Emits one item per path: literal paths as given, glob patterns expanded.
final class FilesSource: PipelineNode {
    static let type = "source.files"
    static let summary = "Emits the given paths and glob matches, one item per file."
    static let inputs: [PortSpec] = []
    static let outputs = [PortSpec("path", .path, doc: "the file's path (also the item id)")]
    static let options = [
        OptionSpec("paths", .strings, required: true, doc: "paths or glob patterns (`*`, `?`, `[ab]`, `**`)"),
        OptionSpec("missing", .choice(["fail", "skip"]), default: "fail",
            doc: "a literal path that does not exist: `fail` its item, or `skip` it with a warning"),
    ]
    static let example = """
        - id: src
          type: source.files
          with: { paths: ["photos/*.jpg", "extra/cover.png"] }
        """

    private let paths: [String]
    private let missing: String
    private let context: NodeContext

    init(options: Options, context: NodeContext) throws {
        paths = options.strings("paths")!
        missing = options.string("missing")!
        self.context = context
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        for pattern in paths {
            if Glob.hasWildcards(pattern) {
                let matches = Glob.expand(pattern)
                if matches.isEmpty { context.warn("pattern '\(pattern)' matched no files") }
                for path in matches { try output.emit(.string(path), item: path) }
            } else if FileManager.default.fileExists(atPath: pattern) {
                try output.emit(.string(pattern), item: pattern)
            } else if missing == "skip" {
                context.warn("no such file: \(pattern)")
            } else {
                try output.fail(item: pattern, "no such file: \(pattern)")
            }
        }
    }
}
