import Foundation
import PipelineCore
import PipelineNodes
import PipelineTesting
import Testing

@testable import PipelineWatch

/// A watch pipeline: text files in, one JSON result per file out, run until idle.
func watchYAML(inbox: String, out: String, extra: String = "", readDelayMS: Int = 0) -> String {
    """
    version: 1
    settings: { watchdog_seconds: 0 }
    nodes:
      - id: inbox
        type: source.watch
        with: { dir: "\(inbox)", settle_seconds: 0.2, exit_when_idle: true, idle_seconds: 0.4, backoff_seconds: 0.05\(extra) }
      - id: wait
        type: util.delay
        inputs: { in: inbox.path }
        with: { ms: \(readDelayMS) }
      - id: read
        type: text.read
        inputs: { path: wait.out }
      - id: save
        type: sink.files
        inputs: { value: read.text }
        with: { dir: "\(out)", name: "{stem}.out" }
    """
}

func runWatch(_ yaml: String, during: ((PipelineRun) -> Void)? = nil) throws -> RunSummary {
    let graph = try PipelineLoader(registry: NodeRegistry(BuiltinNodes.all, TestNodes.all)).load(text: yaml)
    let run = try PipelineRun(graph: graph)
    run.start()
    during?(run)
    return run.wait()
}

@Suite("Watch pipelines", .serialized)
struct WatchPipelineTests {
    let root = temporaryDirectory("watch-run")
    var inbox: String { root + "/inbox" }
    var out: String { root + "/out" }
    var ledger: Ledger { try! Ledger(path: inbox + "/.pipeline/ledger.sqlite") }

    init() throws {
        try FileManager.default.createDirectory(atPath: root + "/inbox", withIntermediateDirectories: true)
    }

    func outputs() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []).sorted()
    }

    @Test("files present before start are processed once; a second run does nothing")
    func presentBeforeStart() throws {
        for name in ["a", "b", "c"] { writeInPlace("\(inbox)/\(name).txt", "text \(name)") }
        let first = try runWatch(watchYAML(inbox: inbox, out: out))
        #expect(first.itemsOK == 3)
        #expect(outputs() == ["a.out", "b.out", "c.out"])
        #expect(try String(contentsOfFile: out + "/b.out", encoding: .utf8) == "text b")
        let second = try runWatch(watchYAML(inbox: inbox, out: out))
        #expect(second.itemsStarted == 0)
        let done = try ledger.entries(in: .done)
        #expect(done.count == 3)
        #expect(done.allSatisfy { $0.attempts == 1 && $0.outputs.count == 1 })
    }

    @Test("files that land while it runs are picked up, including atomic renames")
    func arrivals() throws {
        let summary = try runWatch(watchYAML(inbox: inbox, out: out)) { _ in
            Thread.sleep(forTimeInterval: 0.1)
            writeInPlace("\(inbox)/new.txt", "new")
            writeInPlace("\(inbox)/.saved.txt.tmp", "saved atomically")
            try? FileManager.default.moveItem(atPath: "\(inbox)/.saved.txt.tmp", toPath: "\(inbox)/saved.txt")
        }
        #expect(summary.itemsOK == 2)
        #expect(outputs() == ["new.out", "saved.out"])
    }

    @Test("the same content saved again is not reprocessed; changed content is")
    func versions() throws {
        writeInPlace("\(inbox)/doc.txt", "version 1")
        writeInPlace("\(inbox)/same.txt", "unchanged")
        _ = try runWatch(watchYAML(inbox: inbox, out: out))
        // Re-save identical bytes (new mtime), change the other file.
        Thread.sleep(forTimeInterval: 0.05)
        writeInPlace("\(inbox)/same.txt", "unchanged")
        writeInPlace("\(inbox)/doc.txt", "version 2")
        let second = try runWatch(watchYAML(inbox: inbox, out: out))
        #expect(second.itemsOK == 1)
        #expect(try String(contentsOfFile: out + "/doc.out", encoding: .utf8) == "version 2")
        #expect(try ledger.all().filter { $0.path.hasSuffix("doc.txt") }.map(\.state) == [.done, .done])
    }

    @Test("with changed: ignore a changed file is left alone")
    func ignoreChanges() throws {
        writeInPlace("\(inbox)/doc.txt", "version 1")
        _ = try runWatch(watchYAML(inbox: inbox, out: out))
        writeInPlace("\(inbox)/doc.txt", "version 2")
        let second = try runWatch(watchYAML(inbox: inbox, out: out, extra: ", changed: ignore"))
        #expect(second.itemsStarted == 0)
        #expect(try String(contentsOfFile: out + "/doc.out", encoding: .utf8) == "version 1")
    }

    @Test("a file that fails is retried with backoff, then recorded failed with its error")
    func failures() throws {
        writeInPlace("\(inbox)/good.txt", "fine")
        FileManager.default.createFile(atPath: "\(inbox)/bad.txt", contents: Data([0xFF, 0xFE, 0x00, 0xC3]))
        let summary = try runWatch(watchYAML(inbox: inbox, out: out, extra: ", retries: 2"))
        #expect(summary.itemsOK == 1)
        #expect(summary.itemsFailed == 3)  // the first try and two retries
        let failed = try ledger.entries(in: .failed)
        #expect(failed.map(\.path) == ["\(inbox)/bad.txt"])
        #expect(failed[0].attempts == 3)
        #expect(failed[0].error == "node 'read': \(inbox)/bad.txt is not valid UTF-8 text")
        // Not retried again by a later run; retryFailed queues it once more.
        #expect(try runWatch(watchYAML(inbox: inbox, out: out)).itemsStarted == 0)
        #expect(try ledger.retryFailed() == 1)
        #expect(try runWatch(watchYAML(inbox: inbox, out: out, extra: ", retries: 0")).itemsFailed == 1)
    }

    @Test("a file deleted after it was queued is recorded failed, and the watcher goes on")
    func deletedBeforeProcessing() throws {
        writeInPlace("\(inbox)/a.txt", "a")
        writeInPlace("\(inbox)/b.txt", "b")
        let ledgerPath = inbox + "/.pipeline/ledger.sqlite"
        let summary = try runWatch(watchYAML(inbox: inbox, out: out, extra: ", retries: 0", readDelayMS: 300)) { _ in
            // Delete b once the watcher has taken it (it waits behind a in the slow stage).
            let deadline = Date().addingTimeInterval(5)
            while Date() < deadline {
                let ledger = try? Ledger(path: ledgerPath)
                if let entries = try? ledger?.all(), entries.contains(where: { $0.path.hasSuffix("b.txt") && $0.state == .running }) {
                    break
                }
                Thread.sleep(forTimeInterval: 0.01)
            }
            try? FileManager.default.removeItem(atPath: "\(inbox)/b.txt")
        }
        #expect(summary.itemsOK == 1)
        let failed = try ledger.entries(in: .failed)
        #expect(failed.map(\.path) == ["\(inbox)/b.txt"])
        #expect(failed.first?.error?.contains("no such file") == true)
    }

    @Test("stop() during a watch finishes in-flight items and marks them done")
    func drainOnStop() throws {
        for i in 0..<20 { writeInPlace("\(inbox)/f\(i).txt", "\(i)") }
        let yaml = watchYAML(inbox: inbox, out: out, readDelayMS: 50).replacingOccurrences(
            of: "exit_when_idle: true", with: "exit_when_idle: false")
        let summary = try runWatch(yaml) { run in
            Thread.sleep(forTimeInterval: 0.4)
            run.stop()
        }
        #expect(summary.outcome == .interrupted)
        #expect(summary.itemsUnfinished == 0)
        let counts = try ledger.counts()
        #expect(counts[.running] == 0)
        #expect(counts[.done] == summary.itemsOK)
        #expect(outputs().count == summary.itemsOK)
        // The rest are processed by the next run, and only they.
        let rest = try runWatch(watchYAML(inbox: inbox, out: out))
        #expect(rest.itemsOK == 20 - summary.itemsOK)
        #expect(try ledger.counts()[.done] == 20)
    }
}
