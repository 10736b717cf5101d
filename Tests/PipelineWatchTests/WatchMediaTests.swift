import Foundation
import PipelineCore
import PipelineNodes
import PipelineTesting
import Testing

@testable import PipelineWatch

@Suite("Watch pipelines with media", .serialized)
struct WatchMediaTests {
    let root = temporaryDirectory("watch-media")
    var inbox: String { root + "/inbox" }
    var out: String { root + "/out" }

    init() throws {
        try FileManager.default.createDirectory(atPath: root + "/inbox", withIntermediateDirectories: true)
    }

    /// Makes a small PNG with the ffmpeg CLI.
    func makePNG(_ path: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "lavfi",
                             "-i", "testsrc2=size=64x48:rate=1", "-frames:v", "1", path]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    @Test("image.decode marks a text file named .jpg failed with FFmpeg's reason; good images are done")
    func nonMediaFails() throws {
        // Made outside the inbox, then moved in: the watcher sees whole files only.
        for name in ["a.png", "b.png"] {
            try makePNG(root + "/" + name)
            try FileManager.default.moveItem(atPath: root + "/" + name, toPath: inbox + "/" + name)
        }
        writeInPlace("\(inbox)/notes.jpg", "not a picture, just text\n")
        let yaml = """
            version: 1
            settings: { watchdog_seconds: 0 }
            nodes:
              - id: inbox
                type: source.watch
                with: { dir: "\(inbox)", patterns: ["*.png", "*.jpg"], settle_seconds: 0.2, exit_when_idle: true, idle_seconds: 0.4, retries: 0 }
              - id: decode
                type: image.decode
                inputs: { path: inbox.path }
              - id: save
                type: sink.image
                inputs: { image: decode.image }
                with: { dir: "\(out)", name: "{stem}.png" }
            """
        let summary = try runWatch(yaml)
        #expect(summary.itemsOK == 2 && summary.itemsFailed == 1, "\(summary.text())")
        let ledger = try Ledger(path: inbox + "/.pipeline/ledger.sqlite")
        let failed = try ledger.entries(in: .failed)
        #expect(failed.map(\.path) == ["\(inbox)/notes.jpg"])
        #expect(failed.first?.error == "node 'decode': \(inbox)/notes.jpg: decode failed: Invalid data found when processing input")
        let done = try ledger.entries(in: .done)
        #expect(done.map(\.path).sorted() == ["\(inbox)/a.png", "\(inbox)/b.png"])
        #expect(done.allSatisfy { $0.outputs.count == 1 })
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []).sorted() == ["a.png", "b.png"])
    }
}
