import Foundation
import PipelineNodes
import PipelineTesting
import PipelineWatch
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `head.prototypes` under `pipeline watch`, SIGKILLed while labelled examples keep landing:
/// the final head must equal the one built by one uninterrupted `pipeline run` over the same
/// files — the same examples, each once, and the nearest-class-mean sums equal bit for bit.
///
/// Every run does 4 kills over 48 examples; CI (or `HEAD_CRASH_HEAVY=1`) also does 10 kills
/// over 240 examples.
@Suite("head.prototypes crash safety", .serialized)
struct PrototypeHeadCrashTests {
    static let environment = ProcessInfo.processInfo.environment
    static let dimension = 48
    static let classes = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]

    /// Watch (or run) -> slow stage -> read the feature -> NCM and RanPAC heads -> their records.
    static func pipeline(root: String, watch: Bool) -> String {
        let source = watch ? "source.watch" : "source.files"
        let sourceOptions = watch
            ? "{ dir: \"\(root)/data\", recursive: true, settle_seconds: 0.1, idle_seconds: 0.5, backoff_seconds: 0.05 }"
            : "{ paths: [\"\(root)/data/inbox/**/*.json\"] }"
        let state = watch ? "\(root)/data/.pipeline" : "\(root)/one-pass"
        return """
            version: 1
            name: head-crash
            nodes:
              - id: src
                type: \(source)
                with: \(sourceOptions)
              - id: work
                type: util.delay
                inputs: { in: src.path }
                with: { ms: 40 }
              - id: read
                type: json.read
                inputs: { path: work.out }
              - id: ncm
                type: head.prototypes
                inputs: { feature: read.value }
                with: { state: "\(state)/ncm.state" }
              - id: ranpac
                type: head.prototypes
                inputs: { feature: read.value }
                with: { state: "\(state)/ranpac.state", method: ranpac, projection: 32 }
              - id: log
                type: sink.jsonl
                inputs: { record: ncm.record }
                with: { path: "\(root)/\(watch ? "watch" : "run").jsonl", append: true, envelope: false }
            """
    }

    /// A seeded feature for example `i`, near its class's centre.
    static func feature(_ i: Int) -> [Float] {
        var rng = SplitMix(seed: UInt64(1000 + i))
        let c = i % classes.count
        return (0..<dimension).map { j in
            let noise = Float(Double(rng.next() >> 11) / 9_007_199_254_740_992 - 0.5)
            return (j % classes.count == c ? 1.5 : 0.1) + noise * 0.7 + Float(i % 7) * 1e-3
        }
    }

    static func write(_ i: Int, root: String) throws {
        let path = "\(root)/data/inbox/\(classes[i % classes.count])/e\(i).json"
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let json = "[" + feature(i).map { "\($0)" }.joined(separator: ",") + "]"
        try json.write(toFile: path + ".part", atomically: false, encoding: .utf8)
        rename(path + ".part", path)
    }

    static func state(_ path: String, ranpac: Bool) throws -> (examples: [PrototypeExample], state: PrototypeState) {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let decoded = try PrototypeExample.decode(bytes, path: path)
        #expect(decoded.validLength == bytes.count, "\(path) has \(bytes.count - decoded.validLength) bytes past its last record")
        @Sendable func ridge(_ d: Int) -> RidgeHead {
            RidgeHead(projection: RandomProjection(inputs: d, outputs: 32, seed: 0), ridge: 0.01)
        }
        var state = ranpac ? PrototypeState(ridge: ridge) : PrototypeState()
        for e in decoded.examples { state.add(e) }
        return (decoded.examples, state)
    }

    @Test("examples landing while the watcher is SIGKILLed: the head equals the one-pass head")
    func killAndRestart() throws {
        try Self.killAndRestart(kills: 4, files: 48)
    }

    @Test("heavy: 10 SIGKILLs over 240 examples", .enabled(if: environment["HEAD_CRASH_HEAVY"] != nil || environment["CI"] != nil))
    func heavyKillAndRestart() throws {
        try Self.killAndRestart(kills: 10, files: 240)
    }

    static func killAndRestart(kills: Int, files: Int) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("head-crash-\(UUID())").path
        try FileManager.default.createDirectory(atPath: root + "/data/inbox", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try pipeline(root: root, watch: true).write(toFile: root + "/watch.yaml", atomically: true, encoding: .utf8)
        try pipeline(root: root, watch: false).write(toFile: root + "/run.yaml", atomically: true, encoding: .utf8)
        var rng = SplitMix(seed: 20261206)
        var dropped = 0
        var inFlight = 0
        for kill in 0..<kills {
            let running = try CLI.Running(["watch", root + "/watch.yaml"], in: root)
            // Examples land while the watcher runs, then it is killed at a random moment.
            let batch = (files - dropped) / (kills - kill)
            for _ in 0..<batch {
                try write(dropped, root: root)
                dropped += 1
                usleep(UInt32(rng.next() % 30_000))
            }
            usleep(UInt32(100_000 + rng.next() % 600_000))
            Glibc.kill(running.process.processIdentifier, SIGKILL)
            running.process.waitUntilExit()
            #expect(running.process.terminationReason == .uncaughtSignal)
            inFlight += try Ledger(path: root + "/data/.pipeline/ledger.sqlite").entries(in: .running).count
        }
        let final = try CLI.Running(["watch", root + "/watch.yaml", "--exit-when-idle"], in: root).wait(timeout: 120)
        #expect(final.status == 0, "\(final.stderr)")
        let onePass = try CLI.run("run", root + "/run.yaml", in: root, timeout: 120)
        #expect(onePass.status == 0, "\(onePass.stderr)")

        for ranpac in [false, true] {
            let name = ranpac ? "ranpac.state" : "ncm.state"
            let watched = try state(root + "/data/.pipeline/" + name, ranpac: ranpac)
            let reference = try state(root + "/one-pass/" + name, ranpac: ranpac)
            // Each example exactly once.
            let items = watched.examples.map(\.item)
            #expect(Set(items).count == items.count, "an example was learned twice")
            #expect(items.count == files)
            #expect(Set(items) == Set(reference.examples.map(\.item)))
            // Nearest class mean: the exact sums equal bit for bit, and the counts.
            let differing = Set(watched.state.classes.keys).union(reference.state.classes.keys)
                .filter { watched.state.classes[$0] != reference.state.classes[$0] }.sorted()
            #expect(differing.isEmpty, "classes whose exact sums or counts differ from the one-pass head: \(differing)")
            #expect(watched.state.classes.count == classes.count)
            if ranpac {
                // RanPAC's Gram matrix is a Double sum in commit order: equal to rounding.
                let a = try #require(watched.state.ridge), b = try #require(reference.state.ridge)
                let scale = b.gram.map(abs).max() ?? 1
                #expect(zip(a.gram, b.gram).allSatisfy { abs($0 - $1) <= 1e-12 * scale })
            }
        }
        print("head crash test: \(files) examples, \(kills) kills, \(inFlight) in flight at the kills")
    }
}
