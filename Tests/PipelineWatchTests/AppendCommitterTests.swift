import Foundation
import PipelineCore
import Testing

@testable import PipelineWatch

/// The watch's commit of staged appends: bytes land at the committed length with the item's
/// `done` row, and whatever a crash appended past it is cut off on the next start.
@Suite("Append committer")
struct AppendCommitterTests {
    func setUp() throws -> (dir: String, ledger: Ledger, committer: AppendCommitter) {
        let dir = temporaryDirectory("append-commit")
        let ledger = try Ledger(path: dir + "/ledger.sqlite")
        return (dir, ledger, AppendCommitter(ledger: ledger))
    }

    func item(_ ledger: Ledger, _ name: String) throws -> Int64 {
        let entry = try ledger.insert(path: "/in/\(name)", size: 1, mtime: 1, hash: name)
        try ledger.markRunning(entry.id)
        return entry.id
    }

    @Test("commits append after what the file held, record the committed length and mark the item done")
    func commitAppends() throws {
        let (dir, ledger, committer) = try setUp()
        let log = dir + "/sub/log.jsonl"
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        try "old\n".write(toFile: log, atomically: true, encoding: .utf8)
        let a = try item(ledger, "a"), b = try item(ledger, "b")
        try committer.commit(id: a, outputs: [], appends: [StagedAppend(path: log, bytes: Array("a1\n".utf8)),
                                                            StagedAppend(path: log, bytes: Array("a2\n".utf8))])
        try committer.commit(id: b, outputs: ["/out/b"], appends: [StagedAppend(path: log, bytes: Array("b\n".utf8))])
        #expect(try String(contentsOfFile: log, encoding: .utf8) == "old\na1\na2\nb\n")
        #expect(try ledger.committedLength(of: log) == 12)
        #expect(try ledger.counts()[.done] == 2)
        #expect(try ledger.all().first { $0.id == b }?.outputs == ["/out/b"])
    }

    @Test("bytes past the committed length (a crash before the done row) are cut on recovery, and overwritten by the next commit")
    func crashTail() throws {
        let (dir, ledger, committer) = try setUp()
        let log = dir + "/log.jsonl"
        let a = try item(ledger, "a")
        try committer.commit(id: a, outputs: [], appends: [StagedAppend(path: log, bytes: Array("a\n".utf8))])
        // A killed run wrote b's line but never recorded b done.
        let handle = try #require(FileHandle(forWritingAtPath: log))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("b\n{\"cut".utf8))
        try handle.close()
        let notes = try AppendCommitter(ledger: try Ledger(path: dir + "/ledger.sqlite")).recover()
        #expect(notes.count == 1 && notes[0].contains("cut 7 bytes"), "\(notes)")
        #expect(try String(contentsOfFile: log, encoding: .utf8) == "a\n")
        // Without a recovery in between, a commit still starts at the committed length.
        try "a\ngarbage\n".write(toFile: log, atomically: true, encoding: .utf8)
        let b = try item(ledger, "b")
        try committer.commit(id: b, outputs: [], appends: [StagedAppend(path: log, bytes: Array("b\n".utf8))])
        #expect(try String(contentsOfFile: log, encoding: .utf8) == "a\nb\n")
        #expect(try AppendCommitter(ledger: ledger).recover().isEmpty)
    }

    @Test("an item that appends nothing is still marked done")
    func noAppends() throws {
        let (_, ledger, committer) = try setUp()
        let a = try item(ledger, "a")
        try committer.commit(id: a, outputs: [], appends: [])
        #expect(try ledger.counts()[.done] == 1)
        #expect(try ledger.appendedFiles().isEmpty)
    }
}
