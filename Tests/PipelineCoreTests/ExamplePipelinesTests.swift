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

/// The model folder (scripts/fetch-models), as the nodes find it.
let exampleModelFolder = ProcessInfo.processInfo.environment["PIPELINE_MODELS"]
    ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/pipeline/models").path

/// True when the video-summary example's models are there (CI fetches them, so it always runs there).
let videoSummaryModelsPresent = ["efficientnet-lite0/model.safetensors", "whisper-tiny.en/model.bin"].allSatisfy {
    FileManager.default.fileExists(atPath: exampleModelFolder + "/" + $0)
} || ProcessInfo.processInfo.environment["CI"] != nil

@Suite("video-summary example", .enabled(if: videoSummaryModelsPresent))
struct VideoSummaryExampleTests {
    let registry = NodeRegistry(BuiltinNodes.all, CustomNodes.all)

    func run(videos: String, out: String) throws -> (RunSummary, [Value]) {
        let graph = try PipelineLoader(registry: registry)
            .load(file: "pipelines/video-summary.yaml", overrides: [("videos", videos), ("out", out)])
        let summary = try PipelineRun(graph: graph).run()
        let text = (try? String(contentsOfFile: out + "/summary.jsonl", encoding: .utf8)) ?? ""
        return (summary, try text.split(separator: "\n").map { try Value(jsonText: String($0)) })
    }

    @Test("one line per sample video: a label list per second of video and the spoken sentence")
    func samples() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("video-summary-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let (summary, lines) = try run(videos: "pipelines/samples/media", out: out)
        #expect(summary.succeeded, "\(summary.text())")
        let byVideo = Dictionary(uniqueKeysWithValues: lines.compactMap { line in line["video"]?.stringValue.map { ($0, line) } })
        #expect(byVideo.keys.sorted() == ["pipelines/samples/media/clip.mp4", "pipelines/samples/media/talk.mp4"])
        for (video, seconds) in [("clip", 3), ("talk", 4)] {
            let record = try #require(byVideo["pipelines/samples/media/\(video).mp4"])
            #expect(record.objectValue?.keys.sorted() == ["frames", "transcript", "video"])
            let frames = try #require(record["frames"]?.arrayValue)
            #expect(frames.map { $0["t"] } == (0..<seconds).map { .double(Double($0)) })
            for frame in frames {
                let labels = try #require(frame["labels"]?.arrayValue)
                let probabilities = labels.compactMap { $0["probability"]?.doubleValue }
                #expect(labels.count == 3 && labels.allSatisfy { $0["label"]?.stringValue?.isEmpty == false })
                #expect(probabilities.count == 3 && probabilities == probabilities.sorted(by: >))
            }
            #expect(record["transcript"]?.arrayValue?.count == 1)
        }
        let talk = byVideo["pipelines/samples/media/talk.mp4"]?["transcript"]?.arrayValue?.first?["text"]?.stringValue
        #expect(talk == "The lighthouse keeper counted seven ships before the storm.")
    }

    @Test("a video without sound and a broken file are reported failed with their reason; the good one is written")
    func failures() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("video-summary-in-\(UUID())").path
        let out = dir + "-out"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer {
            try? FileManager.default.removeItem(atPath: dir)
            try? FileManager.default.removeItem(atPath: out)
        }
        try FileManager.default.copyItem(atPath: "pipelines/samples/media/talk.mp4", toPath: dir + "/talk.mp4")
        try Data("not a video".utf8).write(to: URL(fileURLWithPath: dir + "/broken.mp4"))
        let ffmpeg = Process()
        ffmpeg.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        ffmpeg.arguments = [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "lavfi", "-i",
            "testsrc2=size=64x48:rate=5:duration=2", "-c:v", "libx264", "-pix_fmt", "yuv420p", dir + "/silent.mp4",
        ]
        try ffmpeg.run()
        ffmpeg.waitUntilExit()
        #expect(ffmpeg.terminationStatus == 0)

        let (summary, lines) = try run(videos: dir, out: out)
        #expect(summary.itemsOK == 1 && summary.itemsFailed == 2 && summary.itemsUnfinished == 0, "\(summary.text())")
        #expect(lines.compactMap { $0["video"]?.stringValue } == [dir + "/talk.mp4"])
        let failed = Dictionary(grouping: summary.failures, by: { $0.item ?? "" })
        #expect(failed.keys.sorted() == [dir + "/broken.mp4", dir + "/silent.mp4"])
        #expect(failed[dir + "/silent.mp4"]?.first?.node == "audio")
        #expect(failed[dir + "/broken.mp4"]?.isEmpty == false)
    }
}
