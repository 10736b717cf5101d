import Foundation
import PipelineCore
import PipelineNodes
import PipelineTesting
import Testing

/// The broken-pipeline corpus: every file in `Fixtures/broken/` states, in leading comments,
/// the exact diagnostics loading it must produce:
///
/// ```yaml
/// # expect: 7:11: unknown node type 'text.reed'
/// # hint: did you mean 'text.read'
/// ```
///
/// `expect` is `line:column: message`, compared exactly; `hint` (optional) applies to the
/// expect line above it and must be contained in that diagnostic's hint. The loader must
/// report exactly the expected set: nothing missing, nothing extra.
enum Corpus {
    static let directory: String = {
        if let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) {
            return url.appendingPathComponent("broken").path
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/broken").path
    }()

    static let files: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
        .filter { $0.hasSuffix(".yaml") }.sorted()

    /// Built-in nodes, the scheduler test nodes, and a two-output node for port-less references.
    static let registry = NodeRegistry(BuiltinNodes.all, TestNodes.all, [PairNode.self])

    /// A node type with two outputs (`node` alone cannot refer to it).
    final class PairNode: PipelineNode {
        static let type = "test.pair"
        static let summary = "Emits each value on two ports."
        static let inputs: [PortSpec] = []
        static let outputs = [PortSpec("left", .any), PortSpec("right", .any)]
        static let options: [OptionSpec] = []
        init(options: Options, context: NodeContext) throws {}
        func process(_ input: NodeInput, _ output: NodeOutput) throws {}
    }

    struct Expected: Hashable, Comparable, CustomStringConvertible {
        let line: Int
        let column: Int
        let message: String
        var description: String { "\(line):\(column): \(message)" }
        static func < (a: Expected, b: Expected) -> Bool { (a.line, a.column, a.message) < (b.line, b.column, b.message) }
    }

    /// Parses the `# expect:` and `# hint:` lines of a corpus file.
    static func expectations(in text: String) -> (expected: [Expected], hints: [(Expected, String)]) {
        var expected: [Expected] = []
        var hints: [(Expected, String)] = []
        for line in text.split(whereSeparator: \.isNewline) {
            if let rest = line.trimmingPrefix("# expect: ").nilIfUnchanged(line) {
                let parts = rest.split(separator: ":", maxSplits: 2)
                guard parts.count == 3, let l = Int(parts[0]), let c = Int(parts[1]) else {
                    Issue.record("malformed expect line: \(line)")
                    continue
                }
                expected.append(Expected(line: l, column: c, message: String(parts[2].dropFirst())))
            } else if let rest = line.trimmingPrefix("# hint: ").nilIfUnchanged(line), let last = expected.last {
                hints.append((last, String(rest)))
            }
        }
        return (expected, hints)
    }
}

extension Substring {
    fileprivate func nilIfUnchanged(_ original: Substring) -> Substring? { count == original.count ? nil : self }
}

@Suite("Validation corpus")
struct ValidationCorpusTests {
    @Test("the corpus holds at least 35 broken files")
    func corpusSize() {
        #expect(Corpus.files.count >= 35, "found \(Corpus.files.count) in \(Corpus.directory)")
    }

    @Test("each broken file reports exactly its expected diagnostics", arguments: Corpus.files)
    func brokenFile(_ name: String) throws {
        let path = Corpus.directory + "/" + name
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let (expected, hints) = Corpus.expectations(in: text)
        #expect(!expected.isEmpty, "\(name) states no `# expect:` line")

        let failure: ValidationFailure
        do {
            _ = try PipelineLoader(registry: Corpus.registry).load(file: path)
            Issue.record("\(name) loaded without error")
            return
        } catch let f as ValidationFailure {
            failure = f
        }
        let actual = failure.diagnostics.map {
            Corpus.Expected(line: $0.location.line, column: $0.location.column, message: $0.message)
        }.sorted()
        #expect(actual == expected.sorted(), "\(name):\n\(failure)")
        for diagnostic in failure.diagnostics {
            #expect(diagnostic.location.file == path)
        }
        for (target, hint) in hints {
            let match = failure.diagnostics.first {
                $0.location.line == target.line && $0.location.column == target.column && $0.message == target.message
            }
            #expect(match?.hint?.contains(hint) == true, "\(name) \(target): hint \(match?.hint ?? "none") lacks '\(hint)'")
        }
    }

    @Test("diagnostics print as file:line:col: error: message, then the hint")
    func diagnosticFormat() throws {
        let path = Corpus.directory + "/unknown-type.yaml"
        let failure = try #require(throws: ValidationFailure.self) {
            try PipelineLoader(registry: Corpus.registry).load(file: path)
        }
        let lines = failure.description.split(separator: "\n").map(String.init)
        #expect(lines.first == "\(path):7:11: error: unknown node type 'text.reed'")
        #expect(lines.dropFirst().first?.hasPrefix("  hint: did you mean 'text.read'") == true)
        #expect(lines.last == "1 error")
    }

    @Test("a missing or unreadable pipeline file is a located error")
    func unreadableFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("corpus-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let binary = dir + "/binary.yaml"
        FileManager.default.createFile(atPath: binary, contents: Data([0x76, 0xFF, 0xFE, 0x0A]))
        let cases = [
            (dir + "/nope.yaml", "cannot read pipeline file: no such file"),
            (dir, "cannot read pipeline file: is a directory"),
            (binary, "cannot read pipeline file: cannot read it as UTF-8 text"),
        ]
        for (path, message) in cases {
            let failure = try #require(throws: ValidationFailure.self) {
                try PipelineLoader(registry: Corpus.registry).load(file: path)
            }
            #expect(failure.diagnostics.map(\.message) == [message])
            #expect(failure.diagnostics.first?.location == SourceLocation(file: path, line: 1, column: 1))
        }
    }
}
