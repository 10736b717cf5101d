import Foundation
import PipelineCore
import PipelineNodes
import Testing

/// The loader's bounds on untrusted pipeline files: the reported "billion laughs" file (nine
/// anchors, each a list of nine aliases of the one before) must be refused quickly at the place
/// that expands, not grow until killed; a file over the size cap is refused before it is read.
@Suite("YAML limits")
struct YAMLLimitsTests {
    let loader = PipelineLoader(registry: NodeRegistry(BuiltinNodes.all))

    /// `levels` anchors of `fan` aliases each, under `params`, with a valid graph after them.
    static func bomb(levels: Int = 9, fan: Int = 9) -> String {
        var lines = ["version: 1", "params:", "  l0: &l0 \"lol\""]
        for level in 1...levels {
            let aliases = Array(repeating: "*l\(level - 1)", count: fan).joined(separator: ", ")
            lines.append("  l\(level): &l\(level) [\(aliases)]")
        }
        lines += ["nodes:", "  - id: src", "    type: gen.sequence", "    with: { count: 1 }"]
        return lines.joined(separator: "\n") + "\n"
    }

    @Test("the 9-by-9 alias bomb is refused fast with the line that expands")
    func aliasBomb() throws {
        let start = ContinuousClock.now
        let failure = try #require(throws: ValidationFailure.self) {
            try loader.load(text: Self.bomb(), file: "bomb.yaml")
        }
        let elapsed = ContinuousClock.now - start
        #expect(elapsed < .seconds(5), "took \(elapsed)")
        let diagnostic = try #require(failure.diagnostics.first)
        #expect(failure.diagnostics.count == 1)
        #expect(diagnostic.message.contains("aliases"))
        #expect(diagnostic.location.file == "bomb.yaml")
        // 9^6 nodes pass the budget; the walk runs out inside l7's list (line 10 of the file).
        #expect(diagnostic.location.line >= 9 && diagnostic.location.line <= 12, "\(diagnostic)")
        #expect(diagnostic.location.column > 1)
    }

    @Test("a small alias fan-out still loads")
    func modestAliasesLoad() throws {
        let graph = try loader.load(text: Self.bomb(levels: 3, fan: 3), file: "ok.yaml")
        #expect(graph.nodes.map(\.id) == ["src"])
    }

    @Test("aliases reused as node options load (anchors are a YAML feature, not an error)")
    func aliasesInOptions() throws {
        let text = """
            version: 1
            nodes:
              - id: a
                type: gen.sequence
                with: &opts { count: 2, prefix: "x-" }
              - id: b
                type: gen.sequence
                with: *opts
            """
        let graph = try loader.load(text: text, file: "alias.yaml")
        #expect(graph.nodes.count == 2)
    }

    @Test("six levels of nine (about 670,000 nodes expanded) load; seven (over 5 million) do not")
    func budgetBoundary() throws {
        #expect(throws: Never.self) { try loader.load(text: Self.bomb(levels: 6), file: "six.yaml") }
        #expect(throws: ValidationFailure.self) { try loader.load(text: Self.bomb(levels: 7), file: "seven.yaml") }
    }

    @Test("a chain of 100,000 anchors, each an alias of the one before, is refused at its depth, not by the stack")
    func aliasChain() throws {
        var lines = ["version: 1", "params:", "  a0: &a0 [x]"]
        for i in 1..<100_000 { lines.append("  a\(i): &a\(i) [*a\(i - 1)]") }
        lines += ["nodes:", "  - id: src", "    type: gen.sequence", "    with: { count: 1 }"]
        let failure = try #require(throws: ValidationFailure.self) {
            try loader.load(text: lines.joined(separator: "\n"), file: "chain.yaml")
        }
        let diagnostic = try #require(failure.diagnostics.first)
        #expect(diagnostic.message.contains("more than \(YAMLLimits.maxDepth) levels"), "\(diagnostic)")
        #expect(diagnostic.location.line > 3, "\(diagnostic)")
    }

    @Test("nesting written in place is bounded the same way")
    func deepInPlace() throws {
        let depth = YAMLLimits.maxDepth + 10
        let text = "version: 1\nparams:\n  deep: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
            + "\nnodes:\n  - { id: src, type: gen.sequence, with: { count: 1 } }\n"
        let failure = try #require(throws: ValidationFailure.self) { try loader.load(text: text, file: "deep.yaml") }
        #expect(failure.diagnostics.first?.message.contains("levels deep") == true, "\(failure)")
        let shallow = "version: 1\nparams:\n  deep: " + String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
            + "\nnodes:\n  - { id: src, type: gen.sequence, with: { count: 1 } }\n"
        #expect(throws: Never.self) { try loader.load(text: shallow, file: "ok.yaml") }
    }

    @Test("a file over the size cap is refused before it is read")
    func oversizedFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("yaml-limits-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("big.yaml").path
        let comment = "# " + String(repeating: "x", count: 1023) + "\n"
        let text = "version: 1\n" + String(repeating: comment, count: YAMLLimits.maxDocumentBytes / 1024 + 1)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let failure = try #require(throws: ValidationFailure.self) { try loader.load(file: path) }
        #expect(failure.diagnostics.first?.message.contains("at most \(YAMLLimits.maxDocumentBytes)") == true)
        #expect(failure.diagnostics.first?.location.line == 1)
        // The same text given directly is refused too.
        #expect(throws: ValidationFailure.self) { try loader.load(text: text, file: "big.yaml") }
    }
}
