import Foundation
import Testing

@testable import PipelineWatch

func temporaryDirectory(_ name: String = "pipeline-watch") -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)").path
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

@Suite("Ledger")
struct LedgerTests {
    @Test("a version moves queued -> running -> done and survives reopening")
    func lifecycle() throws {
        let path = temporaryDirectory() + "/state/ledger.sqlite"
        do {
            let ledger = try Ledger(path: path)
            let entry = try ledger.insert(path: "/in/a.jpg", size: 10, mtime: 1.5, hash: "h1")
            #expect(entry.state == .queued)
            #expect(try ledger.due().map(\.id) == [entry.id])
            #expect(try ledger.markRunning(entry.id) == 1)
            #expect(try ledger.due().isEmpty)
            try ledger.markDone(entry.id, outputs: ["/out/a.json", "/out/a.png"])
        }
        let reopened = try Ledger(path: path)
        let entry = try #require(try reopened.lookup(path: "/in/a.jpg", hash: "h1"))
        #expect(entry.state == .done)
        #expect(entry.outputs == ["/out/a.json", "/out/a.png"])
        #expect(entry.attempts == 1)
        #expect(try reopened.counts()[.done] == 1)
    }

    @Test("rows left running by a crash go back to the queue")
    func recovery() throws {
        let path = temporaryDirectory() + "/ledger.sqlite"
        let id: Int64
        do {
            let ledger = try Ledger(path: path)
            id = try ledger.insert(path: "/in/b", size: 1, mtime: 1, hash: "h").id
            try ledger.markRunning(id)
        }
        let ledger = try Ledger(path: path)
        #expect(try ledger.recoverRunning().map(\.id) == [id])
        #expect(try ledger.entries(in: .queued).map(\.id) == [id])
        #expect(try ledger.markRunning(id) == 2)
    }

    @Test("a failure with a retry time waits; without one it is final; retryFailed resets")
    func failures() throws {
        let ledger = try Ledger(path: temporaryDirectory() + "/ledger.sqlite")
        let id = try ledger.insert(path: "/in/c", size: 1, mtime: 1, hash: "h").id
        try ledger.markRunning(id)
        let later = Date().timeIntervalSince1970 + 60
        try ledger.markFailed(id, error: "node 'x': boom", retryAt: later)
        #expect(try ledger.due().isEmpty)
        #expect(try ledger.due(at: later + 1).map(\.id) == [id])
        #expect(try ledger.nextRetry() == later)
        try ledger.markRunning(id)
        try ledger.markFailed(id, error: "node 'x': boom again", retryAt: nil)
        let failed = try ledger.entries(in: .failed)
        #expect(failed.map(\.error) == ["node 'x': boom again"])
        #expect(try ledger.retryFailed() == 1)
        #expect(try ledger.due().first?.attempts == 0)
    }

    @Test("the same path with new content is a new version")
    func versions() throws {
        let ledger = try Ledger(path: temporaryDirectory() + "/ledger.sqlite")
        _ = try ledger.insert(path: "/in/d", size: 1, mtime: 1, hash: "v1")
        _ = try ledger.insert(path: "/in/d", size: 2, mtime: 2, hash: "v2")
        #expect(try ledger.latest(path: "/in/d")?.hash == "v2")
        #expect(throws: SQLiteError.self) { try ledger.insert(path: "/in/d", size: 1, mtime: 1, hash: "v1") }
    }
}

@Suite("SHA-256")
struct SHA256Tests {
    @Test("known vectors", arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func vectors(input: String, digest: String) {
        var hasher = SHA256()
        hasher.update(Array(input.utf8))
        #expect(hasher.finish() == digest)
    }

    @Test("a file hashed in chunks matches sha256sum")
    func file() throws {
        let path = temporaryDirectory() + "/blob"
        var bytes = [UInt8](repeating: 0, count: 3_000_001)
        for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: i &* 31 &+ 7) }
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        let expected = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).prefix(64)
        #expect(try SHA256.file(path) == String(expected))
    }
}
