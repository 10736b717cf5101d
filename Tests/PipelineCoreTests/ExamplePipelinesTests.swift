import CustomNodes
import Foundation
import PipelineCore
import PipelineNodes
import Testing

/// The repository root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// Every pipeline in `pipelines/`, by file name.
let examplePipelines: [String] = {
    let dir = repositoryRoot + "/pipelines"
    return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
        .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
}()

@Suite("Example pipelines")
struct ExamplePipelinesTests {
    let registry = NodeRegistry(BuiltinNodes.all, CustomNodes.all)

    @Test("pipelines/ has examples")
    func examplesExist() {
        #expect(examplePipelines.count >= 3)
    }

    /// Each example validates, and runs to success when its inputs are present: the examples
    /// read paths relative to the repository root, where `swift test` runs.
    @Test("every example validates and runs", arguments: examplePipelines)
    func runs(_ name: String) throws {
        #expect(FileManager.default.currentDirectoryPath == repositoryRoot, "tests must run from the repository root")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-example-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        var overrides = [("out", out)]
        let text = try String(contentsOfFile: "pipelines/" + name, encoding: .utf8)
        let inbox = out + "-inbox"
        defer { try? FileManager.default.removeItem(atPath: inbox) }
        if text.contains("type: source.watch") {
            // Watch examples: an inbox with the sample texts, and batch mode so the run ends.
            try FileManager.default.createDirectory(atPath: inbox, withIntermediateDirectories: true)
            for sample in try FileManager.default.contentsOfDirectory(atPath: "pipelines/samples") {
                try FileManager.default.copyItem(atPath: "pipelines/samples/" + sample, toPath: inbox + "/" + sample)
            }
            overrides += [("inbox", inbox), ("once", "true")]
        }
        let graph = try PipelineLoader(registry: registry).load(file: "pipelines/" + name, overrides: overrides)
        let summary = try PipelineRun(graph: graph).run()
        #expect(summary.succeeded, "\(summary.text())")
        #expect(summary.itemsOK > 0)
        let written = FileManager.default.enumerator(atPath: out)?.allObjects.count ?? 0
        #expect(written > 0, "\(name) wrote nothing under its `out` parameter")
    }
}
