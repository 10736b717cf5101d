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
        let graph = try PipelineLoader(registry: registry).load(file: "pipelines/" + name, overrides: [("out", out)])
        let summary = try PipelineRun(graph: graph).run()
        #expect(summary.succeeded, "\(summary.text())")
        #expect(summary.itemsOK > 0)
        let written = FileManager.default.enumerator(atPath: out)?.allObjects.count ?? 0
        #expect(written > 0, "\(name) wrote nothing under its `out` parameter")
    }
}
