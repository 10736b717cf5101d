import Foundation
import PipelineCore
import PipelineNodes
import Testing

@Suite("Pipeline loader")
struct LoaderTests {
    let loader = PipelineLoader(registry: NodeRegistry(BuiltinNodes.all))

    func load(_ yaml: String, _ overrides: [(String, String)] = []) throws -> PipelineGraph {
        try loader.load(text: yaml, file: "test.yaml", overrides: overrides)
    }

    /// The diagnostics of a text that must fail to load.
    func diagnostics(_ yaml: String, _ overrides: [(String, String)] = []) throws -> [Diagnostic] {
        try #require(throws: ValidationFailure.self) { try load(yaml, overrides) }.diagnostics
    }

    func node(_ graph: PipelineGraph, _ id: String) throws -> GraphNode {
        try #require(graph.nodes.first { $0.id == id })
    }

    static let params = """
        version: 1
        params:
          n: 5
          dir: docs
          ratio: 0.5
        nodes:
          - id: src
            type: gen.sequence
            with: { count: "${n}", prefix: "${dir}-${n}-" }
          - id: files
            type: source.files
            with: { paths: ["in/${dir}/*.txt", "${dir}"] }
          - id: wait
            type: util.delay
            inputs: { in: src }
            with: { ms: "${ratio}" }
        """

    @Test("a whole ${param} keeps the parameter's type")
    func wholeParameterKeepsType() throws {
        let graph = try load(Self.params)
        #expect(try node(graph, "src").options["count"] == .int(5))
        #expect(try node(graph, "wait").options["ms"] == .double(0.5))
    }

    @Test("${param} inside text is spliced as a string")
    func splicedParameter() throws {
        let graph = try load(Self.params)
        #expect(try node(graph, "src").options.string("prefix") == "docs-5-")
        #expect(try node(graph, "files").options.strings("paths") == ["in/docs/*.txt", "docs"])
    }

    @Test("--set overrides are read as YAML scalars")
    func overrides() throws {
        let graph = try load(Self.params, [("n", "12"), ("dir", "notes"), ("ratio", "3")])
        #expect(try node(graph, "src").options["count"] == .int(12))
        #expect(try node(graph, "src").options.string("prefix") == "notes-12-")
        #expect(try node(graph, "wait").options.double("ms") == 3)
    }

    @Test("an override of the wrong type is reported at the option")
    func overrideOfWrongType() throws {
        let found = try diagnostics(Self.params, [("n", "many")])
        #expect(found.map(\.message) == ["option 'count' of node 'src': expected integer, got string"])
        #expect(found.first?.location == SourceLocation(file: "test.yaml", line: 9, column: 20))
    }

    @Test("a quoted --set value stays a string")
    func quotedOverride() throws {
        let found = try diagnostics(Self.params, [("n", "\"7\"")])
        #expect(found.map(\.message) == ["option 'count' of node 'src': expected integer, got string"])
    }

    @Test("--set of an undeclared parameter is an error naming the nearest")
    func unknownOverride() throws {
        let found = try diagnostics(Self.params, [("dri", "x")])
        #expect(found.map(\.message) == ["--set dri=x: the pipeline has no parameter 'dri'"])
        #expect(found.first?.location.file == "<command line>")
        #expect(found.first?.hint == "did you mean 'dir'?")
    }

    @Test("defaults fill in options that are not given")
    func defaults() throws {
        let graph = try load(Self.params)
        let src = try node(graph, "src").options
        #expect(src["start"] == .int(0))
        #expect(src["step"] == .int(1))
        let files = try node(graph, "files").options
        #expect(files.string("missing") == "fail")
        #expect(try node(graph, "wait").options.double("jitter_ms") == 0)
    }

    @Test("`inputs: { port: node }` binds a node's only output")
    func inputShorthand() throws {
        let graph = try load(
            """
            version: 1
            nodes:
              - { id: src, type: source.files, with: { paths: [a.txt] } }
              - { id: read, type: text.read, inputs: { path: src } }
              - { id: out, type: sink.jsonl, inputs: { record: read.text }, with: { path: o.jsonl } }
            """)
        #expect(graph.edges.map(graph.describe) == ["src.path -> read.path", "read.text -> out.record"])
    }

    @Test("node keys are read into the graph")
    func nodeKeys() throws {
        let graph = try load(
            """
            version: 1
            name: keys
            settings: { watchdog_seconds: 2.5, watchdog_action: fail }
            nodes:
              - id: src
                type: gen.sequence
                with: { count: 3 }
              - id: slow
                type: util.delay
                inputs: { in: src.value }
                concurrency: 4
                ordered: false
                on_error: fail
                queue: { capacity: 8, policy: latest }
                with: { ms: 1 }
            """)
        #expect(graph.name == "keys")
        #expect(graph.settings == RunSettings(watchdogSeconds: 2.5, watchdogAction: .fail))
        let slow = try node(graph, "slow")
        #expect(slow.concurrency == 4)
        #expect(slow.ordered == false)
        #expect(slow.onError == .fail)
        #expect(slow.queueCapacity == 8)
        #expect(slow.queuePolicy == .latest)
        #expect(slow.location == SourceLocation(file: "test.yaml", line: 8, column: 5))
        let src = try node(graph, "src")
        #expect(src.concurrency == 1 && src.ordered && src.onError == .skip)
        #expect(src.queueCapacity == nil && src.queuePolicy == .block)
    }

    @Test("`version: 1` is required", arguments: ["", "version: 2\n", "version: \"1\"\n", "version: 1.5\n", "version:\n"])
    func versionRequired(_ versionLine: String) throws {
        let found = try diagnostics(versionLine + "nodes:\n  - { id: s, type: gen.sequence, with: { count: 1 } }\n")
        #expect(found.count == 1)
        #expect(found.first?.message.hasPrefix(versionLine.isEmpty ? "missing 'version'" : "unsupported version") == true)
        #expect(found.first?.hint?.contains("version: 1") == true)
    }

    @Test("the pipeline name defaults to the file's stem")
    func nameFromFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("loader-\(UUID()).yaml").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "version: 1\nnodes:\n  - { id: s, type: gen.sequence, with: { count: 1 } }\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let graph = try loader.load(file: path)
        #expect(graph.name == ((path as NSString).lastPathComponent as NSString).deletingPathExtension)
        #expect(graph.file == path)
    }

    @Test("every problem in a file is reported at once, sorted by position")
    func allProblemsAtOnce() throws {
        let found = try diagnostics(
            """
            version: 1
            nodes:
              - { id: a, type: nope }
              - { id: b, type: gen.sequence, with: { count: x } }
              - { id: c, type: text.read, inputs: { path: zz.path } }
            """)
        #expect(found.count == 3)
        #expect(found.map(\.location.line) == [3, 4, 5])
    }
}
