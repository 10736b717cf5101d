import Foundation
import PipelineTesting
import PipelineWatch
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `pipeline watch` killed with SIGKILL at random moments and restarted.
///
/// Every run does 5 kills over 30 files; CI (or `WATCH_CRASH_HEAVY=1`) also runs the heavy
/// case, 12 kills over 300 files (about a minute). Other sizes: `WATCH_CRASH_KILLS=20
/// WATCH_CRASH_FILES=100 swift test --filter WatchCrash`.
@Suite("Watch crash safety", .serialized)
struct WatchCrashTests {
    static let environment = ProcessInfo.processInfo.environment
    let kills = Int(environment["WATCH_CRASH_KILLS"] ?? "") ?? 5
    let files = Int(environment["WATCH_CRASH_FILES"] ?? "") ?? 30

    /// Source -> slow stage -> read -> one output file per input, plus an appending JSONL
    /// log with one line per input (written by a second branch): exactly once per file,
    /// whatever the kills.
    static func pipeline(root: String) -> String {
        """
        version: 1
        name: crash
        nodes:
          - id: inbox
            type: source.watch
            with: { dir: "\(root)/inbox", settle_seconds: 0.2, idle_seconds: 0.5, backoff_seconds: 0.05 }
          - id: attempts
            type: sink.jsonl
            inputs: { record: inbox.path }
            with: { path: "\(root)/attempts.jsonl", append: true, envelope: false }
          - id: work
            type: util.delay
            inputs: { in: inbox.path }
            with: { ms: 120 }
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
        String(repeating: "file \(i) line\n", count: 200)
    }

    @Test("every input gets exactly one complete output file and exactly one appended line; only items in flight at a kill run again")
    func killAndRestart() throws {
        try Self.killAndRestart(kills: kills, files: files)
    }

    @Test("heavy: 12 SIGKILLs over 300 files, each file's output and line exactly once",
          .enabled(if: environment["WATCH_CRASH_HEAVY"] != nil || environment["CI"] != nil))
    func heavyKillAndRestart() throws {
        try Self.killAndRestart(kills: 12, files: 300)
    }

    static func killAndRestart(kills: Int, files: Int) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("watch-crash-\(UUID())").path
        try FileManager.default.createDirectory(atPath: root + "/inbox", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Self.pipeline(root: root).write(toFile: root + "/crash.yaml", atomically: true, encoding: .utf8)
        var rng = SplitMix(seed: 20261122)
        var inFlightAtKill: [Set<String>] = []
        var dropped = 0
        for kill in 0..<kills {
            let batch = (files - dropped) / (kills - kill)
            for _ in 0..<batch {
                try Self.content(dropped).write(toFile: "\(root)/inbox/f\(dropped).txt", atomically: true, encoding: .utf8)
                dropped += 1
            }
            let running = try CLI.Running(["watch", root + "/crash.yaml"], in: root)
            usleep(UInt32(200_000 + rng.next() % 1_000_000))
            Glibc.kill(running.process.processIdentifier, SIGKILL)
            running.process.waitUntilExit()
            #expect(running.process.terminationReason == .uncaughtSignal)
            let ledger = try Ledger(path: root + "/inbox/.pipeline/ledger.sqlite")
            inFlightAtKill.append(Set(try ledger.entries(in: .running).map(\.path)))
        }
        #expect(dropped == files)
        let final = try CLI.Running(["watch", root + "/crash.yaml", "--exit-when-idle"], in: root).wait(timeout: 120)
        #expect(final.status == 0, "\(final.stderr)")

        // Exactly one complete output per input, and nothing else in the output folder.
        let outputs = try FileManager.default.contentsOfDirectory(atPath: root + "/out").sorted()
        #expect(outputs == (0..<files).map { "f\($0).out" }.sorted())
        for i in 0..<files {
            #expect(try String(contentsOfFile: "\(root)/out/f\(i).out", encoding: .utf8) == Self.content(i))
        }
        let ledger = try Ledger(path: root + "/inbox/.pipeline/ledger.sqlite")
        #expect(try ledger.counts() == [.done: files, .queued: 0, .running: 0, .failed: 0])

        // The appending JSONL sink: every line whole, each input's line exactly once.
        let log = try String(contentsOfFile: root + "/attempts.jsonl", encoding: .utf8)
        #expect(log.hasSuffix("\n"), "the log ends in a cut line")
        var lines: [String: Int] = [:]
        for line in log.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            #expect(line.hasPrefix("\"") && line.hasSuffix("\""), "not a whole line: \(line)")
            lines[String(line.dropFirst().dropLast()), default: 0] += 1
        }
        #expect(lines.count == files)
        // Attempts per file from the ledger: only items in flight at a kill ran again.
        var rerun = 0
        for entry in try ledger.all() {
            let killsInFlight = inFlightAtKill.filter { $0.contains(entry.path) }.count
            #expect(lines[entry.path] == 1, "\(entry.path) has \(lines[entry.path] ?? 0) lines")
            #expect(entry.attempts >= 1 && entry.attempts - 1 <= killsInFlight,
                    "\(entry.path) ran \(entry.attempts) times but was in flight at \(killsInFlight) kills")
            rerun += entry.attempts - 1
        }
        print("watch crash test: \(files) files, \(kills) kills, \(inFlightAtKill.map(\.count)) in flight at each kill, "
            + "\(rerun) re-runs, \(lines.values.reduce(0, +)) lines for \(lines.count) files")
    }

    @Test("a sink.jsonl that is not appending is refused by watch with a hint; describe states each sink's guarantee")
    func nonAppendingJSONLRefused() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("watch-jsonl-\(UUID())").path
        try FileManager.default.createDirectory(atPath: root + "/inbox", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let text = Self.pipeline(root: root).replacingOccurrences(of: "append: true, ", with: "")
        try text.write(toFile: root + "/p.yaml", atomically: true, encoding: .utf8)
        let r = try CLI.run("watch", root + "/p.yaml", "--exit-when-idle", in: root)
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("node 'attempts'") && r.stderr.contains("set `append: true`"), "\(r.stderr)")
        for sink in ["sink.jsonl", "sink.files", "sink.image", "sink.audio"] {
            let described = try CLI.run("describe", sink, in: root)
            #expect(described.stdout.contains("under `pipeline watch`: "), "\(sink): \(described.stdout)")
        }
    }

    @Test("an unreadable file is recorded failed with the reason and the others go on")
    func permissionDenied() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("watch-perm-\(UUID())").path
        try FileManager.default.createDirectory(atPath: root + "/inbox", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Self.pipeline(root: root).write(toFile: root + "/p.yaml", atomically: true, encoding: .utf8)
        try "fine".write(toFile: root + "/inbox/ok.txt", atomically: true, encoding: .utf8)
        try "secret".write(toFile: root + "/inbox/locked.txt", atomically: true, encoding: .utf8)
        chmod(root + "/inbox/locked.txt", 0)
        var arguments = ["watch", root + "/p.yaml", "--exit-when-idle"]
        if getuid() == 0 {
            // root reads anything: run the watcher as nobody so the permission really bites.
            chmod(root, 0o777)
            chmod(root + "/inbox", 0o777)
            chmod(root + "/inbox/ok.txt", 0o644)
            arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", try #require(CLI.binary)] + arguments
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: getuid() == 0 ? "/usr/bin/setpriv" : try #require(CLI.binary))
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: root)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let status = try CLI.run("watch", root + "/p.yaml", "--status", in: root)
        #expect(status.stdout.contains("done: 1"))
        #expect(status.stdout.contains("failed: 1"))
        #expect(status.stdout.contains("failed \(root)/inbox/locked.txt (0 attempts): cannot read \(root)/inbox/locked.txt"))
        #expect(FileManager.default.fileExists(atPath: root + "/out/ok.out"))
    }
}
