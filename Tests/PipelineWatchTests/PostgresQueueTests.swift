import Foundation
import PipelineCore
import PipelineTesting
import Synchronization
import Testing

@testable import PipelineWatch

/// True when a private PostgreSQL server can be started, or when CI is set (CI must have
/// it: scripts/setup installs it, and a missing server then fails the test, not skips it).
let postgresPresent = PostgresServer.available || ProcessInfo.processInfo.environment["CI"] != nil

@Suite("PostgreSQL ledger and queue", .serialized, .enabled(if: postgresPresent))
struct PostgresQueueTests {
    /// The same sequence of ledger calls on SQLite and on PostgreSQL gives the same states.
    func exercise(_ ledger: any ItemLedger) throws -> [String] {
        var log: [String] = []
        let a = try ledger.insert(path: "/in/a.jpg", size: 10, mtime: 1.5, hash: "h1")
        let b = try ledger.insert(path: "/in/b.jpg", size: 11, mtime: 2.5, hash: "h2")
        log.append("due \(try ledger.due(at: nil).map(\.path))")
        log.append("attempt \(try ledger.markRunning(a.id))")
        try ledger.markDone(a.id, outputs: ["/out/a.json"], appended: ["/out/log.jsonl": 42])
        log.append("committed \(String(describing: try ledger.committedLength(of: "/out/log.jsonl")))")
        try ledger.recordBaseline(of: "/out/log.jsonl", length: 7)
        try ledger.recordBaseline(of: "/out/other.jsonl", length: 7)
        log.append("appended \(try ledger.appendedFiles().map { "\($0.path)=\($0.committed)" })")
        try ledger.markRunning(b.id)
        log.append("recovered \(try ledger.recoverRunning().map(\.path))")
        try ledger.markRunning(b.id)
        try ledger.markFailed(b.id, error: "boom", retryAt: 4_000_000_000)
        log.append("due after retry \(try ledger.due(at: nil).map(\.path)) next \(String(describing: try ledger.nextRetry()))")
        try ledger.markRunning(b.id)
        try ledger.requeue(b.id)
        try ledger.markRunning(b.id)
        try ledger.markFailed(b.id, error: "boom again", retryAt: nil)
        let failed = try ledger.entries(in: .failed)
        log.append("failed \(failed.map { "\($0.path) \($0.attempts) \($0.error ?? "")" })")
        log.append("counts \(try ledger.counts().sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key)=\($0.value)" })")
        log.append("retried \(try ledger.retryFailed())")
        log.append("latest \(String(describing: try ledger.latest(path: "/in/a.jpg")?.outputs))")
        log.append("lookup \(String(describing: try ledger.lookup(path: "/in/b.jpg", hash: "h2")?.state))")
        log.append("all \(try ledger.all().map { "\($0.path):\($0.state):\($0.attempts)" })")
        return log
    }

    @Test("the PostgreSQL ledger behaves like the SQLite one, call for call")
    func ledgerParity() throws {
        let server = try PostgresServer()
        defer { server.stop() }
        let sqlite = try exercise(try Ledger(path: temporaryDirectory() + "/ledger.sqlite"))
        let postgres = try exercise(try PostgresLedger(url: server.url, queue: "parity"))
        #expect(sqlite == postgres)
        #expect(sqlite.contains("failed [\"/in/b.jpg 3 boom again\"]"), "\(sqlite)")
    }

    @Test("the schema is created once by concurrent openers; a newer version is refused by name")
    func schemaVersion() throws {
        let server = try PostgresServer()
        defer { server.stop() }
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            #expect(throws: Never.self) { _ = try WorkQueue(url: server.url, name: "q") }
        }
        let db = try PostgresConnection(server.url)
        #expect(try db.query("SELECT version FROM pipeline_schema") == [[String(QueueSchema.version)]])
        try db.query("UPDATE pipeline_schema SET version = $1", [.text(String(QueueSchema.version + 1))])
        do {
            _ = try WorkQueue(url: server.url, name: "q")
            Issue.record("a newer schema was accepted")
        } catch let error as QueueError {
            #expect("\(error)".contains("version \(QueueSchema.version + 1), newer than this pipeline build"), "\(error)")
        }
    }

    @Test("an unreachable server and a wrong password are errors naming host, port and user")
    func connectErrors() throws {
        let server = try PostgresServer()
        defer { server.stop() }
        do {
            _ = try PostgresConnection(server.tcpURL(password: "wrong"))
            Issue.record("a wrong password connected")
        } catch let error as PostgresError {
            let text = "\(error)"
            #expect(text.contains("host 127.0.0.1") && text.contains("as user \(PostgresServer.user)"), "\(text)")
            #expect(text.contains("password authentication failed"), "\(text)")
        }
        #expect(throws: Never.self) { _ = try PostgresConnection(server.tcpURL()) }
        let port = try PostgresServer.freePort()
        do {
            _ = try PostgresConnection("postgresql://nobody@127.0.0.1:\(port)/db", timeout: 2)
            Issue.record("an unused port connected")
        } catch let error as PostgresError {
            #expect("\(error)".contains("host 127.0.0.1 port \(port) as user nobody"), "\(error)")
        }
        #expect(PostgresConnection.redacted("postgres://u:secret@h/db") == "postgres://u:***@h/db")
    }

    @Test("a queue is bound to one pipeline; another file is refused")
    func binding() throws {
        let server = try PostgresServer()
        defer { server.stop() }
        let queue = try WorkQueue(url: server.url, name: "photos")
        try queue.bind(pipeline: "a.yaml", hash: "aaaa")
        try queue.bind(pipeline: "copy-of-a.yaml", hash: "aaaa")
        #expect(throws: QueueError.self) { try queue.bind(pipeline: "b.yaml", hash: "bbbb") }
        try WorkQueue(url: server.url, name: "other").bind(pipeline: "b.yaml", hash: "bbbb")
    }

    static func versions(_ n: Int, prefix: String = "f") -> [WorkQueue.Version] {
        (0..<n).map { WorkQueue.Version(path: "\(prefix)\($0).txt", size: 1, mtime: 1, hash: "h\($0)") }
    }

    @Test("enqueue dedupes by path and hash; concurrent batch claims never share an item")
    func claims() throws {
        let server = try PostgresServer()
        defer { server.stop() }
        let queue = try WorkQueue(url: server.url, name: "q")
        #expect(try queue.enqueue(Self.versions(200)) == 200)
        #expect(try queue.enqueue(Self.versions(200)) == 0)
        #expect(try queue.enqueue([WorkQueue.Version(path: "f0.txt", size: 2, mtime: 2, hash: "changed")]) == 1)
        let claimed = Mutex<[Int64]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            let q = try! WorkQueue(url: server.url, name: "q")
            while true {
                let got = try! q.claim(owner: "w\(worker)", limit: 7, lease: 30, maxAttempts: 3)
                if got.isEmpty { break }
                claimed.withLock { $0 += got.map(\.id) }
            }
        }
        let ids = claimed.withLock { $0 }
        #expect(ids.count == 201 && Set(ids).count == 201)
        #expect(try queue.counts()[.running] == 201)
    }

    @Test("an expired lease lets another worker take the item; the first one's completion is refused")
    func leaseExpiry() throws {
        let server = try PostgresServer()
        defer { server.stop() }
        let queue = try WorkQueue(url: server.url, name: "q")
        try queue.enqueue(Self.versions(1))
        let first = try #require(try queue.claim(owner: "a", limit: 1, lease: 0.3, maxAttempts: 5).first)
        #expect(try queue.claim(owner: "b", limit: 1, lease: 30, maxAttempts: 5).isEmpty)
        #expect(try queue.heartbeat(owner: "a", claims: [first], lease: 0.3) == 1)
        Thread.sleep(forTimeInterval: 0.5)
        let second = try #require(try queue.claim(owner: "b", limit: 1, lease: 30, maxAttempts: 5).first)
        #expect(second.id == first.id && second.attempt == 2)
        #expect(try queue.heartbeat(owner: "a", claims: [first], lease: 30) == 0)
        #expect(try queue.complete(first, owner: "a", outputs: ["x"], appends: []) == nil)
        #expect(try queue.complete(second, owner: "b", outputs: ["/out/f0"], appends: []) == [])
        let done = try queue.entries(in: .done)
        #expect(done.map(\.outputs) == [["/out/f0"]] && done.map(\.attempts) == [2])
    }

    @Test("failures retry with backoff; a poison item is failed with its reason after the last attempt")
    func retries() throws {
        let server = try PostgresServer()
        defer { server.stop() }
        let queue = try WorkQueue(url: server.url, name: "q")
        try queue.enqueue(Self.versions(2))
        var claims = try queue.claim(owner: "w", limit: 2, lease: 30, maxAttempts: 2)
        try queue.fail(claims[0], owner: "w", error: "node 'x': boom", retryDelay: 0.3)
        // The other item's worker vanishes twice: abandoned on its last attempt.
        #expect(try queue.claim(owner: "w", limit: 2, lease: 30, maxAttempts: 2).isEmpty)
        Thread.sleep(forTimeInterval: 0.4)
        claims = try queue.claim(owner: "w", limit: 2, lease: 0.1, maxAttempts: 2)
        #expect(claims.map(\.attempt) == [2])
        try queue.fail(claims[0], owner: "w", error: "node 'x': boom", retryDelay: nil)
        let failed = try queue.entries(in: .failed)
        #expect(failed.map(\.error) == ["node 'x': boom"])
        #expect(try queue.retryFailed() == 1)
        #expect(try queue.purge(failed: true) == 0)
        #expect(try queue.counts()[.queued] == 1 && queue.counts()[.running] == 1)
    }

    @Test("an abandoned item past its last attempt is failed with the reason")
    func poisonByLease() throws {
        let server = try PostgresServer()
        defer { server.stop() }
        let queue = try WorkQueue(url: server.url, name: "q")
        try queue.enqueue(Self.versions(1))
        for _ in 0..<2 {
            #expect(try queue.claim(owner: "w", limit: 1, lease: 0.05, maxAttempts: 2).count == 1)
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(try queue.claim(owner: "w", limit: 1, lease: 0.05, maxAttempts: 2).isEmpty)
        let failed = try queue.entries(in: .failed)
        #expect(failed.count == 1 && (failed.first?.error ?? "").contains("abandoned 2 times"), "\(failed)")
    }

    @Test("a batch completes in one statement: lost leases refused, odd output names kept, appends in item order")
    func batchComplete() throws {
        let server = try PostgresServer()
        defer { server.stop() }
        let dir = temporaryDirectory("pg-batch")
        let logA = dir + "/a.jsonl", logB = dir + "/b.jsonl"
        try "0123\n".write(toFile: logA, atomically: true, encoding: .utf8)
        let queue = try WorkQueue(url: server.url, name: "q")
        try queue.enqueue(Self.versions(4))
        var claims = try queue.claim(owner: "w", limit: 4, lease: 30, maxAttempts: 3).sorted { $0.id < $1.id }
        // Item 2's lease is lost to another worker (its claim is now attempt 2 of "other").
        let db = try PostgresConnection(server.url)
        try db.query("UPDATE pipeline_items SET lease_until = 0 WHERE id = $1", [.text(String(claims[2].id))])
        #expect(try queue.claim(owner: "other", limit: 1, lease: 30, maxAttempts: 3).map(\.id) == [claims[2].id])
        let odd = ["/out/a \"quoted\", {braced}", "/out/back\\slash", "/out/ünï,cødé\tTab"]
        let completions = [
            WorkQueue.Completion(claim: claims[0], outputs: odd, appends: [
                StagedAppend(path: logA, bytes: Array("a1\n".utf8)), StagedAppend(path: logB, bytes: Array("b1\n".utf8)),
                StagedAppend(path: logA, bytes: Array("a1'\n".utf8))]),
            WorkQueue.Completion(claim: claims[1], outputs: [], appends: []),
            WorkQueue.Completion(claim: claims[2], outputs: ["/out/lost"], appends: [StagedAppend(path: logA, bytes: Array("lost\n".utf8))]),
            WorkQueue.Completion(claim: claims[3], outputs: ["/out/3"], appends: [
                StagedAppend(path: logA, bytes: Array("a3\n".utf8)), StagedAppend(path: logB, bytes: [])]),
        ]
        let results = try queue.complete(completions, owner: "w")
        #expect(results.count == 4 && results[2] == nil && results[1] == [])
        #expect(results[0] == [WorkQueue.Chunk(path: logA, offset: 5, bytes: Array("a1\na1'\n".utf8)),
                               WorkQueue.Chunk(path: logB, offset: 0, bytes: Array("b1\n".utf8))])
        #expect(results[3] == [WorkQueue.Chunk(path: logA, offset: 12, bytes: Array("a3\n".utf8))])
        #expect(try queue.pendingChunks().count == 3)
        try queue.write(results.compactMap { $0 }.flatMap { $0 })
        #expect(try queue.pendingChunks().isEmpty)
        #expect(try String(contentsOfFile: logA, encoding: .utf8) == "0123\na1\na1'\na3\n")
        #expect(try String(contentsOfFile: logB, encoding: .utf8) == "b1\n")
        let done = try queue.entries(in: .done).sorted { $0.id < $1.id }
        #expect(done.map(\.outputs) == [odd, [], ["/out/3"]])
        claims = try queue.claim(owner: "w", limit: 4, lease: 30, maxAttempts: 3)
        let running = try queue.counts()[.running]
        #expect(claims.isEmpty && running == 1)
    }

    @Test("appended bytes are reserved in the done transaction and written at their offsets")
    func appendChunks() throws {
        let server = try PostgresServer()
        defer { server.stop() }
        let dir = temporaryDirectory("pg-append")
        let log = dir + "/log.jsonl"
        try "old\n".write(toFile: log, atomically: true, encoding: .utf8)
        let queue = try WorkQueue(url: server.url, name: "q")
        try queue.enqueue(Self.versions(3))
        let claims = try queue.claim(owner: "w", limit: 3, lease: 30, maxAttempts: 3)
        let c0 = try #require(try queue.complete(claims[0], owner: "w", outputs: [], appends: [StagedAppend(path: log, bytes: Array("a\n".utf8))]))
        let c1 = try #require(try queue.complete(claims[1], owner: "w", outputs: [], appends: [StagedAppend(path: log, bytes: Array("bb\n".utf8))]))
        #expect(c0.map(\.offset) == [4] && c1.map(\.offset) == [6])
        // The second is written first (its worker was faster); the first's worker died: flushed later.
        try queue.write(c1)
        #expect(try queue.pendingChunks() == c0)
        #expect(try queue.flushPending() == 1)
        try queue.write(c1)  // a late duplicate write changes nothing
        #expect(try String(contentsOfFile: log, encoding: .utf8) == "old\na\nbb\n")
    }
}
