import Foundation
import PipelineTesting
import PipelineWatch
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// True when a private PostgreSQL server can be started here, or when CI is set (where a
/// missing server fails the tests instead of skipping them).
let postgresPresent = PostgresServer.available || ProcessInfo.processInfo.environment["CI"] != nil

/// A shared root with an inbox of text files, a queue pipeline over it and a private server.
final class QueueFixture {
    let root: String
    let server: PostgresServer
    let pipeline: String

    /// Source -> slow stage -> read -> one output file per input, plus an appending JSONL
    /// log of every input path (a second branch): exactly once per item whatever happens.
    init(files: Int, delayMS: Int = 100, settings: [String] = [], hba: [String] = [], name: String = "scaleout") throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("scaleout-\(UUID())").path
        try FileManager.default.createDirectory(atPath: root + "/inbox", withIntermediateDirectories: true)
        chmod(root, 0o755)
        server = try PostgresServer(settings: settings, hba: hba)
        pipeline = root + "/p.yaml"
        try Self.text(name: name, root: root, delayMS: delayMS).write(toFile: pipeline, atomically: true, encoding: .utf8)
        for i in 0..<files {
            try Self.content(i).write(toFile: "\(root)/inbox/f\(i).txt", atomically: true, encoding: .utf8)
        }
    }

    deinit {
        server.stop()
        try? FileManager.default.removeItem(atPath: root)
    }

    static func text(name: String, root: String, delayMS: Int) -> String {
        """
        version: 1
        name: \(name)
        nodes:
          - id: inbox
            type: source.watch
            with: { dir: "\(root)/inbox", settle_seconds: 0.1, idle_seconds: 0.5, backoff_seconds: 0.05, retries: 30 }
          - id: attempts
            type: sink.jsonl
            inputs: { record: inbox.path }
            with: { path: "\(root)/log.jsonl", append: true, envelope: false }
          - id: work
            type: util.delay
            inputs: { in: inbox.path }
            with: { ms: \(delayMS) }
          - id: read
            type: text.read
            inputs: { path: work.out }
          - id: save
            type: sink.files
            inputs: { value: read.text }
            with: { dir: "\(root)/out", name: "{stem}.out" }
        """
    }

    static func content(_ i: Int) -> String {
        String(repeating: "file \(i) line\n", count: 100)
    }

    func run(_ arguments: [String], timeout: Double = 60) throws -> CLI.Result {
        try CLI.Running(arguments, in: root).wait(timeout: timeout)
    }

    /// Checks that every input has exactly one correct output, one done row, one log line,
    /// and that nothing else is left behind. Returns the total number of attempts.
    @discardableResult
    /// The index of a worker (by PID, from its default name `host:pid:random`) that holds an
    /// unexpired lease, waiting up to 5 s for one; nil when none does.
    func slotHoldingItems(_ pids: [Int32]) throws -> Int? {
        let db = try PostgresConnection(server.url)
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            let owners = try db.query(
                "SELECT lease_owner FROM pipeline_items WHERE state = 'running' AND lease_until > extract(epoch from clock_timestamp()) + 0.5")
            for owner in owners.compactMap({ $0[0] }) {
                let parts = owner.split(separator: ":")
                if parts.count >= 3, let pid = Int32(parts[parts.count - 2]), let slot = pids.firstIndex(of: pid) { return slot }
            }
            usleep(50_000)
        }
        return nil
    }

    func checkExactlyOnce(files: Int, url: String? = nil, queueName: String = "scaleout") throws -> Int {
        let outputs = try FileManager.default.contentsOfDirectory(atPath: root + "/out").sorted()
        #expect(outputs == (0..<files).map { "f\($0).out" }.sorted(), "stray or missing outputs")
        for i in 0..<files {
            #expect(try String(contentsOfFile: "\(root)/out/f\(i).out", encoding: .utf8) == Self.content(i), "f\(i).out")
        }
        let queue = try WorkQueue(url: url ?? server.url, name: queueName)
        #expect(try queue.counts() == [.done: files, .queued: 0, .running: 0, .failed: 0])
        let rows = try queue.all()
        #expect(rows.count == files && Set(rows.map(\.path)).count == files)
        #expect(rows.allSatisfy { $0.outputs == ["\(root)/out/\(($0.path as NSString).deletingPathExtension).out"] },
                "output manifests")
        #expect(try queue.pendingChunks().isEmpty)
        let log = try String(contentsOfFile: root + "/log.jsonl", encoding: .utf8)
        #expect(!log.contains("\0"), "the log has a hole")
        #expect(log.hasSuffix("\n"))
        var lines: [String: Int] = [:]
        for line in log.split(separator: "\n") {
            #expect(line.hasPrefix("\"") && line.hasSuffix("\""), "not a whole line: \(line)")
            lines[String(line.dropFirst().dropLast()), default: 0] += 1
        }
        #expect(lines.count == files && lines.values.allSatisfy { $0 == 1 }, "log lines: \(lines.filter { $0.value != 1 })")
        return rows.map(\.attempts).reduce(0, +)
    }
}

@Suite("Scale-out on PostgreSQL", .serialized, .enabled(if: postgresPresent))
struct ScaleOutTests {
    static let environment = ProcessInfo.processInfo.environment

    @Test("enqueue, watch --queue and two workers: every file once; queue status, retry-failed and purge")
    func endToEnd() throws {
        let f = try QueueFixture(files: 20, delayMS: 20)
        let url = f.server.url
        var r = try f.run(["enqueue", f.pipeline, "--queue", url, f.root + "/inbox/f0.txt", f.root + "/inbox"])
        #expect(r.status == 0 && r.stdout.contains("enqueued 20 of 21 files"), "\(r.stdout)\(r.stderr)")
        // The enqueue-only watcher finds nothing new (same paths and contents).
        r = try f.run(["watch", f.pipeline, "--queue", url, "--exit-when-idle"])
        #expect(r.status == 0 && !r.stderr.contains("enqueued"), "\(r.stdout)\(r.stderr)")
        let workers = try (0..<2).map { _ in
            try CLI.Running(["worker", f.pipeline, "--queue", url, "--exit-when-idle", "--batch", "3"], in: f.root)
        }
        for worker in workers {
            let result = worker.wait(timeout: 60)
            #expect(result.status == 0, "\(result.stderr)")
        }
        try f.checkExactlyOnce(files: 20)
        r = try f.run(["queue", "status", f.pipeline, "--queue", url])
        #expect(r.stdout.contains("queue scaleout: queued: 0  running: 0  done: 20  failed: 0"), "\(r.stdout)\(r.stderr)")
        // A new file lands: the watcher enqueues only it.
        try "new\n".write(toFile: f.root + "/inbox/new.txt", atomically: true, encoding: .utf8)
        r = try f.run(["watch", f.pipeline, "--queue", url, "--exit-when-idle"])
        #expect(r.stderr.contains("enqueued 1 (1 in all)"), "\(r.stdout)\(r.stderr)")
        r = try f.run(["queue", "purge", "--queue", url, "--queue-name", "scaleout"])
        #expect(r.stdout.contains("deleted 20 items"), "\(r.stdout)\(r.stderr)")
        r = try f.run(["queue", "retry-failed", f.pipeline, "--queue", url])
        #expect(r.stdout.contains("queued 0 failed items again"), "\(r.stdout)\(r.stderr)")
    }

    @Test("unreachable database, wrong password, newer schema, another pipeline, a path outside the root: refused clearly, exit 2")
    func badInput() throws {
        let f = try QueueFixture(files: 2, delayMS: 1)
        // Nothing listens on this port.
        let port = try PostgresServer.freePort()
        var r = try f.run(["worker", f.pipeline, "--queue", "postgresql://nobody@127.0.0.1:\(port)/db"])
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("host 127.0.0.1 port \(port) as user nobody"), "\(r.stderr)")
        r = try f.run(["worker", f.pipeline, "--queue", f.server.tcpURL(password: "nope")])
        #expect(r.status == 2 && r.stderr.contains("as user \(PostgresServer.user)")
                && r.stderr.contains("password authentication failed"), "\(r.stderr)")
        #expect(!r.stderr.contains("nope"), "the password is printed: \(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: f.root + "/out"), "a refused worker did work")

        // A path outside the shared root.
        try "x".write(toFile: f.root + "/elsewhere.txt", atomically: true, encoding: .utf8)
        r = try f.run(["enqueue", f.pipeline, "--queue", f.server.url, f.root + "/elsewhere.txt"])
        #expect(r.status == 2 && r.stderr.contains("outside the shared root"), "\(r.stderr)")

        // A queue item that escapes the root (written by hand or by a bad producer) fails, unrun.
        r = try f.run(["enqueue", f.pipeline, "--queue", f.server.url, f.root + "/inbox"])
        #expect(r.status == 0, "\(r.stderr)")
        try WorkQueue(url: f.server.url, name: "scaleout")
            .enqueue([WorkQueue.Version(path: "../elsewhere.txt", size: 1, mtime: 1, hash: "x")])
        r = try f.run(["worker", f.pipeline, "--queue", f.server.url, "--exit-when-idle"])
        #expect(r.status == 0, "\(r.stderr)")
        let failed = try WorkQueue(url: f.server.url, name: "scaleout").entries(in: .failed)
        #expect(failed.map(\.path) == ["../elsewhere.txt"] && (failed.first?.error ?? "").contains("outside the shared root"))
        #expect(!FileManager.default.fileExists(atPath: f.root + "/out/elsewhere.out"))

        // Another pipeline file under the same queue name.
        let other = f.root + "/other.yaml"
        try QueueFixture.text(name: "scaleout", root: f.root, delayMS: 2).write(toFile: other, atomically: true, encoding: .utf8)
        r = try f.run(["worker", other, "--queue", f.server.url])
        #expect(r.status == 2 && r.stderr.contains("queue 'scaleout' is bound to pipeline"), "\(r.stderr)")

        // A schema from a newer pipeline.
        let db = try PostgresConnection(f.server.url)
        try db.query("UPDATE pipeline_schema SET version = version + 1")
        r = try f.run(["worker", f.pipeline, "--queue", f.server.url])
        #expect(r.status == 2 && r.stderr.contains("newer than this pipeline build"), "\(r.stderr)")
        r = try f.run(["watch", f.pipeline, "--ledger", f.server.url, "--exit-when-idle"])
        #expect(r.status == 2 && r.stderr.contains("newer than this pipeline build"), "\(r.stderr)")
    }

    @Test("watch --ledger postgres:// processes a folder exactly once, like the SQLite ledger")
    func watchWithPostgresLedger() throws {
        let f = try QueueFixture(files: 10, delayMS: 5)
        let r = try f.run(["watch", f.pipeline, "--ledger", f.server.url, "--exit-when-idle"])
        #expect(r.status == 0, "\(r.stderr)")
        let ledger = try PostgresLedger(url: f.server.url, queue: "watch:" + f.root + "/inbox")
        #expect(try ledger.counts() == [.done: 10, .queued: 0, .running: 0, .failed: 0])
        #expect(!FileManager.default.fileExists(atPath: f.root + "/inbox/.pipeline/ledger.sqlite"))
        let status = try CLI.Running(["watch", f.pipeline, "--status"], in: f.root,
                                     environment: ["PIPELINE_LEDGER": f.server.url]).wait()
        #expect(status.stdout.contains("done: 10"), "\(status.stdout)\(status.stderr)")
    }

    @Test("faults: 3 workers, SIGKILLs, a PostgreSQL immediate restart, a worker stopped past its lease")
    func faults() throws {
        let heavy = Self.environment["SCALEOUT_HEAVY"] != nil
        try FaultRun(files: heavy ? 500 : 120, kills: heavy ? 25 : 10, delayMS: heavy ? 60 : 250).run()
    }
}

/// Workers as separate machines: each in its own network namespace, reaching PostgreSQL over
/// TCP on a veth link, one link cut (`ip link set down`) mid-run. Needs root (CAP_NET_ADMIN).
@Suite("Scale-out across network namespaces", .serialized, .enabled(if: NetworkNamespaces.available))
struct ScaleOutNetnsTests {
    @Test("faults with workers in network namespaces over TCP, and a link cut")
    func faultsAcrossNamespaces() throws {
        let spaces = try NetworkNamespaces(count: 3)
        defer { spaces.remove() }
        var run = FaultRun(files: 90, kills: 6, delayMS: 250)
        run.fixtureSettings = ["listen_addresses = '*'"]
        run.fixtureHBA = ["host all all 10.77.0.0/16 scram-sha-256"]
        run.workerPrefix = { [NetworkNamespaces.ipPath, "netns", "exec", spaces.names[$0]] }
        run.workerURL = { f, slot in f.server.tcpURL(host: spaces.hostAddress(slot)) }
        run.midRun = { _ in
            try spaces.setLink(1, up: false)
            Thread.sleep(forTimeInterval: 6)
            try spaces.setLink(1, up: true)
        }
        try run.run()
    }
}

/// Network namespaces with a veth link each to the host (10.77.N.1 host side, 10.77.N.2 inside).
final class NetworkNamespaces {
    let names: [String]
    private let tag = String(getpid() % 100_000)

    /// iproute2's `ip`.
    static let ipPath = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"]
        .first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/sbin/ip"

    /// Root and a working `ip netns`.
    static let available: Bool = {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: ipPath) else { return false }
        let probe = "pipeprobe\(getpid())"
        guard (try? NetworkNamespaces.ip(["netns", "add", probe])) != nil else { return false }
        try? NetworkNamespaces.ip(["netns", "del", probe])
        return true
    }()

    init(count: Int) throws {
        names = (0..<count).map { "pq\(getpid() % 100_000)-\($0)" }
        for (i, name) in names.enumerated() {
            let host = "vh\(tag)\(i)", inside = "vn\(tag)\(i)"
            try Self.ip(["netns", "add", name])
            try Self.ip(["link", "add", host, "type", "veth", "peer", "name", inside])
            try Self.ip(["link", "set", inside, "netns", name])
            try Self.ip(["addr", "add", "\(hostAddress(i))/24", "dev", host])
            try Self.ip(["link", "set", host, "up"])
            try Self.ip(["netns", "exec", name, "ip", "addr", "add", "10.77.\(i).2/24", "dev", inside])
            try Self.ip(["netns", "exec", name, "ip", "link", "set", inside, "up"])
            try Self.ip(["netns", "exec", name, "ip", "link", "set", "lo", "up"])
        }
    }

    func hostAddress(_ i: Int) -> String { "10.77.\(i).1" }

    /// Takes slot `i`'s link down or up (from the host side).
    func setLink(_ i: Int, up: Bool) throws {
        try Self.ip(["link", "set", "vh\(tag)\(i)", up ? "up" : "down"])
    }

    func remove() {
        for name in names { try? Self.ip(["netns", "del", name]) }
    }

    static func ip(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ipPath)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw PostgresServer.ServerError("ip \(arguments.joined(separator: " ")) exited \(process.terminationStatus)")
        }
    }
}

/// The fault test: workers killed and restarted, the server restarted, a worker paused.
struct FaultRun {
    let files: Int
    let kills: Int
    let delayMS: Int
    var lease = 2.0
    /// A command each worker slot runs through (`ip netns exec NAME`), and the URL it uses.
    var workerPrefix: ((Int) -> [String])? = nil
    var workerURL: ((QueueFixture, Int) -> String)? = nil
    /// Called once mid-run (cut a link, say) with the fixture.
    var midRun: ((QueueFixture) throws -> Void)? = nil
    var fixtureSettings: [String] = []
    var fixtureHBA: [String] = []

    func run() throws {
        let f = try QueueFixture(files: files, delayMS: delayMS, settings: fixtureSettings, hba: fixtureHBA)
        let r = try f.run(["enqueue", f.pipeline, "--queue", f.server.url, f.root + "/inbox"])
        #expect(r.status == 0, "\(r.stderr)")
        var rng = SplitMix(seed: 20261206)
        func start(_ slot: Int) throws -> CLI.Running {
            let url = workerURL?(f, slot) ?? f.server.url
            let args = ["worker", f.pipeline, "--queue", url, "--exit-when-idle", "--lease", String(lease),
                        "--max-in-flight", "4", "--batch", "2"]
            return try CLI.Running(args, in: f.root, prefix: workerPrefix?(slot) ?? [])
        }
        var workers = try (0..<3).map { try start($0) }
        var finished: [CLI.Result] = []
        let started = Date()
        var killed = 0, restarted = false, paused = false, cut = false
        var pausedSlot = -1
        // Faults at random moments while work remains; the pause and the restart come between kills.
        while killed < kills || !restarted || !paused || (midRun != nil && !cut) {
            usleep(UInt32(250_000 + rng.next() % 400_000))
            var slot = Int(rng.next() % 3)
            if slot == pausedSlot { slot = (slot + 1) % 3 }  // the paused worker lives on, to be checked
            if killed == kills / 2 && !restarted {
                try f.server.restartImmediately()
                restarted = true
            } else if killed == kills / 3 && !paused {
                // Pause a worker that holds items: one restarted a moment ago may not have
                // claimed any yet on a busy machine, and would have nothing to lose.
                slot = try f.slotHoldingItems(workers.map { $0.process.processIdentifier }) ?? slot
                let pid = workers[slot].process.processIdentifier
                kill(pid, SIGSTOP)
                Thread.sleep(forTimeInterval: lease * 2 + 0.5)
                kill(pid, SIGCONT)
                paused = true
                pausedSlot = slot
            } else if let midRun, killed == (2 * kills) / 3 && !cut {
                try midRun(f)
                cut = true
            } else if killed < kills {
                if workers[slot].process.isRunning {
                    kill(workers[slot].process.processIdentifier, SIGKILL)
                    let result = workers[slot].wait(timeout: 10)
                    #expect(result.status == SIGKILL)
                    killed += 1
                }
                workers[slot] = try start(slot)
            }
        }
        let faultSeconds = Date().timeIntervalSince(started)
        // Nobody hangs: every worker exits once the queue is empty.
        for worker in workers {
            let result = worker.wait(timeout: 120)
            finished.append(result)
            #expect(result.status == 0, "\(result.stderr.suffix(2000))")
        }
        let attempts = try f.checkExactlyOnce(files: files)
        let lostLeases = finished.map { $0.stderr.components(separatedBy: "lease lost").count - 1 }.reduce(0, +)
        // The worker stopped past its lease came back to find its items taken: its completions were refused.
        #expect(finished[pausedSlot].stderr.contains("lease lost"), "\(finished[pausedSlot].stderr.suffix(3000))")
        print("scale-out fault test: \(files) items, \(killed) SIGKILLs, 1 immediate restart, 1 SIGSTOP past the lease"
            + (midRun != nil ? ", 1 link cut" : "") + ", faults over \(String(format: "%.1f", faultSeconds)) s, "
            + "\(attempts - files) re-runs, \(lostLeases) completions refused for a lost lease (workers alive at the end)")
    }
}
