import Foundation
import PipelineCore
import PipelineNodes
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Runs the built `pipeline` executable as a user would.
///
/// The binary is `$PIPELINE_BIN` when set, else the `pipeline` built beside this test
/// bundle (same scratch directory), else the newest `.build*/debug/pipeline` in the
/// repository.
enum CLI {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// Runs `executable` with `arguments` to its end and returns its exit status and one of its
    /// streams (standard output, or standard error with `stderr: true`; the other is discarded).
    static func capture(_ executable: String, _ arguments: [String], stderr: Bool = false) throws -> (status: Int32, text: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        if stderr {
            process.standardError = pipe
            process.standardOutput = FileHandle.nullDevice
        } else {
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
        }
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    static let binary: String? = {
        let fm = FileManager.default
        if let path = ProcessInfo.processInfo.environment["PIPELINE_BIN"], fm.isExecutableFile(atPath: path) { return path }
        var dirs: [URL] = []
        for exe in [Bundle.main.executableURL, URL(fileURLWithPath: CommandLine.arguments[0])].compactMap({ $0 }) {
            // The test runner is <scratch>/<triple>/debug/<name>.xctest (a file, or a bundle directory).
            var dir = exe.deletingLastPathComponent()
            for _ in 0..<4 {
                dirs.append(dir)
                dir = dir.deletingLastPathComponent()
            }
        }
        for dir in dirs {
            let candidate = dir.appendingPathComponent("pipeline").path
            if fm.isExecutableFile(atPath: candidate), !isDirectory(candidate) { return candidate }
        }
        let builds = ((try? fm.contentsOfDirectory(atPath: repository)) ?? []).filter { $0.hasPrefix(".build") }
        let found = builds.map { repository + "/" + $0 + "/debug/pipeline" }.filter { fm.isExecutableFile(atPath: $0) }
        return found.max { modified($0) < modified($1) }
    }()

    static func isDirectory(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
    }

    static func modified(_ path: String) -> Date {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date) ?? .distantPast
    }

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Starts `pipeline ARGS` in `directory` with its output going to files.
    final class Running {
        let process = Process()
        let outPath: String, errPath: String

        /// `prefix` runs the binary through another command (`ip netns exec NAME`).
        init(_ arguments: [String], in directory: String, environment: [String: String] = [:], prefix: [String] = []) throws {
            let found = try #require(CLI.binary, "no pipeline binary: build it, or set PIPELINE_BIN")
            let binary = prefix.first ?? found
            let arguments = prefix.isEmpty ? arguments : Array(prefix.dropFirst()) + [found] + arguments
            outPath = directory + "/.stdout-\(UUID())"
            errPath = directory + "/.stderr-\(UUID())"
            FileManager.default.createFile(atPath: outPath, contents: nil)
            FileManager.default.createFile(atPath: errPath, contents: nil)
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = arguments
            if !environment.isEmpty {
                process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            }
            process.currentDirectoryURL = URL(fileURLWithPath: directory)
            process.standardOutput = FileHandle(forWritingAtPath: outPath)
            process.standardError = FileHandle(forWritingAtPath: errPath)
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }

        var stderrSoFar: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

        /// Waits for exit (killing the process after `timeout` seconds).
        func wait(timeout: Double = 15) -> Result {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { usleep(10_000) }
            if process.isRunning {
                process.terminate()
                Issue.record("pipeline did not exit within \(timeout) s")
            }
            process.waitUntilExit()
            let result = Result(
                status: process.terminationStatus,
                stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                stderr: stderrSoFar)
            try? FileManager.default.removeItem(atPath: outPath)
            try? FileManager.default.removeItem(atPath: errPath)
            return result
        }
    }

    /// Runs `pipeline ARGS` to completion.
    static func run(_ arguments: String..., in directory: String, timeout: Double = 15) throws -> Result {
        try Running(arguments, in: directory).wait(timeout: timeout)
    }
}

/// A temporary working directory with pipeline files in it.
final class Workspace {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let full = path + "/" + name
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: true, encoding: .utf8)
        return full
    }

    func read(_ name: String) -> String? { try? String(contentsOfFile: path + "/" + name, encoding: .utf8) }

    func json(_ name: String) -> [String: Any]? {
        FileManager.default.contents(atPath: path + "/" + name).flatMap {
            try? JSONSerialization.jsonObject(with: $0) as? [String: Any]
        }
    }
}

enum Pipelines {
    /// Writes the numbers 0..<n (param `n`, default 3) to out/n.jsonl.
    static let numbers = """
        version: 1
        name: numbers
        params: { n: 3 }
        nodes:
          - id: src
            type: gen.sequence
            with: { count: "${n}" }
          - id: out
            type: sink.jsonl
            inputs: { record: src.value }
            with: { path: out/n.jsonl, envelope: false }
        """

    /// Reads ok.txt and bad.bin; bad.bin is not UTF-8, so its item fails in node `read`.
    static let failing = """
        version: 1
        nodes:
          - id: src
            type: source.files
            with: { paths: [ok.txt, bad.bin] }
          - id: read
            type: text.read
            inputs: { path: src }
          - id: out
            type: sink.jsonl
            inputs: { record: read.text }
            with: { path: out/text.jsonl }
        """

    /// An unknown type at 4:11.
    static let invalid = """
        version: 1
        nodes:
          - id: src
            type: gen.sequense
        """
}

@Suite("pipeline CLI", .serialized)
struct CLITests {
    @Test("the pipeline binary is found")
    func binaryFound() {
        #expect(CLI.binary != nil, "build the package first, or set PIPELINE_BIN")
    }

    @Test("validate exits 0 on a valid file")
    func validateValid() throws {
        let ws = try Workspace()
        try ws.write("p.yaml", Pipelines.numbers)
        let r = try CLI.run("validate", "p.yaml", in: ws.path)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("p.yaml: ok (2 nodes, 1 edges)"))
    }

    @Test("validate exits 2 on an invalid file, with file:line:col: error: on stderr")
    func validateInvalid() throws {
        let ws = try Workspace()
        try ws.write("bad.yaml", Pipelines.invalid)
        let r = try CLI.run("validate", "bad.yaml", in: ws.path)
        #expect(r.status == 2)
        #expect(r.stderr.contains("bad.yaml:4:11: error: unknown node type 'gen.sequense'"), "\(r.stderr)")
        #expect(r.stderr.contains("hint: did you mean 'gen.sequence'"))
        #expect(r.stdout.isEmpty)
    }

    @Test("run exits 0 on success and writes its output")
    func runSucceeds() throws {
        let ws = try Workspace()
        try ws.write("p.yaml", Pipelines.numbers)
        let r = try CLI.run("run", "p.yaml", in: ws.path)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(ws.read("out/n.jsonl") == "0\n1\n2\n")
        #expect(r.stderr.contains("items: 3 ok, 0 failed"))
    }

    @Test("run exits 1 when an item fails, naming the node and the item")
    func runItemFails() throws {
        let ws = try Workspace()
        try ws.write("p.yaml", Pipelines.failing)
        try ws.write("ok.txt", "fine")
        FileManager.default.createFile(atPath: ws.path + "/bad.bin", contents: Data([0xFF, 0xFE, 0x00]))
        let r = try CLI.run("run", "p.yaml", in: ws.path)
        #expect(r.status == 1)
        #expect(r.stderr.contains("error: node 'read' item 'bad.bin': bad.bin is not valid UTF-8 text"), "\(r.stderr)")
        #expect(r.stderr.contains("items: 1 ok, 1 failed"))
        #expect(ws.read("out/text.jsonl")?.contains("fine") == true)
    }

    @Test("run exits 2 on an invalid file and runs nothing")
    func runInvalid() throws {
        let ws = try Workspace()
        try ws.write("bad.yaml", Pipelines.invalid)
        let r = try CLI.run("run", "bad.yaml", in: ws.path)
        #expect(r.status == 2)
        #expect(r.stderr.contains("bad.yaml:4:11: error:"))
    }

    @Test("--set overrides a parameter; an unknown one is an error")
    func setOverride() throws {
        let ws = try Workspace()
        try ws.write("p.yaml", Pipelines.numbers)
        let r = try CLI.run("run", "p.yaml", "--set", "n=5", in: ws.path)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(ws.read("out/n.jsonl") == "0\n1\n2\n3\n4\n")
        let bad = try CLI.run("validate", "p.yaml", "--set", "count=5", in: ws.path)
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("the pipeline has no parameter 'count'"), "\(bad.stderr)")
    }

    @Test("nodes lists every node type, one per line")
    func nodes() throws {
        let ws = try Workspace()
        let r = try CLI.run("nodes", in: ws.path)
        #expect(r.status == 0)
        let names = r.stdout.split(separator: "\n").map { String($0.split(separator: " ").first ?? "") }
        for type in BuiltinNodes.all {
            #expect(names.filter { $0 == type.type }.count == 1, "\(type.type) missing from `pipeline nodes`")
        }
        #expect(names.contains("example.word_count"))
        #expect(names == names.sorted())
    }

    @Test("describe shows ports, options with defaults, and an example")
    func describe() throws {
        let ws = try Workspace()
        let r = try CLI.run("describe", "source.files", in: ws.path)
        #expect(r.status == 0)
        for expected in [
            "source.files — ", "inputs:\n  (none)", "outputs:\n  path: path", "options:",
            "paths (list of strings, required)", "missing (one of fail|skip, default \"fail\")", "example:",
            "type: source.files",
        ] {
            #expect(r.stdout.contains(expected), "describe lacks '\(expected)':\n\(r.stdout)")
        }
    }

    @Test("source.queue is listed and described, and refused in a file with what to write instead")
    func queueSourceNode() throws {
        let ws = try Workspace()
        let described = try CLI.run("describe", "source.queue", in: ws.path)
        #expect(described.status == 0, "\(described.stderr)")
        for expected in ["source.queue — ", "not written in pipeline files: `pipeline worker FILE", "queue_name (string, required)",
                         "lease_seconds (number", "type: source.watch"] {
            #expect(described.stdout.contains(expected), "describe lacks '\(expected)':\n\(described.stdout)")
        }
        try ws.write("q.yaml", """
            version: 1
            nodes:
              - id: inbox
                type: source.queue
                with: { queue: "postgres:///x", queue_name: q, root: /tmp }
            """)
        let r = try CLI.run("validate", "q.yaml", in: ws.path)
        #expect(r.status == 2)
        #expect(r.stderr.contains("q.yaml:4:11: error: node type 'source.queue' cannot be written in a pipeline file"), "\(r.stderr)")
        #expect(r.stderr.contains("pipeline worker"), "\(r.stderr)")
    }

    @Test("describe of an unknown type exits 2 with a suggestion")
    func describeUnknown() throws {
        let ws = try Workspace()
        let r = try CLI.run("describe", "nope", in: ws.path)
        #expect(r.status == 2)
        #expect(r.stderr.contains("unknown node type 'nope'"))
        let near = try CLI.run("describe", "source.file", in: ws.path)
        #expect(near.status == 2)
        #expect(near.stderr.contains("did you mean 'source.files'"), "\(near.stderr)")
    }

    @Test("graph prints dot and mermaid")
    func graph() throws {
        let ws = try Workspace()
        try ws.write("p.yaml", Pipelines.numbers)
        let dot = try CLI.run("graph", "p.yaml", "--format", "dot", in: ws.path)
        #expect(dot.status == 0)
        #expect(dot.stdout.hasPrefix("digraph \"numbers\" {"))
        #expect(dot.stdout.contains("\"src\" -> \"out\" [label=\"value → record\"];"), "\(dot.stdout)")
        let mermaid = try CLI.run("graph", "p.yaml", "--format", "mermaid", in: ws.path)
        #expect(mermaid.status == 0)
        #expect(mermaid.stdout.hasPrefix("flowchart LR"))
        #expect(mermaid.stdout.contains("src -- \"value → record\" --> out"), "\(mermaid.stdout)")
        let bad = try CLI.run("graph", "p.yaml", "--format", "svg", in: ws.path)
        #expect(bad.status != 0)
    }

    @Test("run --summary-json writes the summary with item counts")
    func summaryJSON() throws {
        let ws = try Workspace()
        try ws.write("p.yaml", Pipelines.failing)
        try ws.write("ok.txt", "fine")
        FileManager.default.createFile(atPath: ws.path + "/bad.bin", contents: Data([0xFF]))
        let r = try CLI.run("run", "p.yaml", "--summary-json", "out/summary.json", "--quiet", in: ws.path)
        #expect(r.status == 1)
        let summary = try #require(ws.json("out/summary.json"), "\(ws.read("out/summary.json") ?? "no file")")
        #expect(summary["itemsOK"] as? Int == 1)
        #expect(summary["itemsFailed"] as? Int == 1)
        #expect(summary["outcome"] as? String == "completed")
        let nodes = try #require(summary["nodes"] as? [[String: Any]])
        #expect(nodes.compactMap { $0["id"] as? String } == ["src", "read", "out"])
        let failures = try #require(summary["failures"] as? [[String: Any]])
        #expect(failures.first?["node"] as? String == "read")
        #expect(failures.first?["item"] as? String == "bad.bin")
        // The automatic path for this CPU's flags (unless PIPELINE_ISA chose one).
        let info = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flags = Set(info.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").map(String.init) ?? [])
        let avx2 = flags.isSuperset(of: ["avx2", "fma", "f16c"]), avx512 = avx2 && flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl"])
        let auto = ProcessInfo.processInfo.environment["PIPELINE_ISA"] ?? (avx512 ? "avx512" : avx2 ? "avx2" : "portable")
        #expect(summary["isa"] as? String == auto, "\(summary["isa"] ?? "no isa")")
    }

    @Test("run --isa portable is the path in --summary-json; a bad --isa or PIPELINE_ISA is a named error")
    func isaChoice() throws {
        let ws = try Workspace()
        try ws.write("p.yaml", Pipelines.numbers)
        let r = try CLI.run("run", "p.yaml", "--isa", "portable", "--summary-json", "s.json", "--quiet", in: ws.path)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(ws.json("s.json")?["isa"] as? String == "portable")
        let env = try CLI.Running(["run", "p.yaml", "--summary-json", "e.json", "--quiet"], in: ws.path,
                                  environment: ["PIPELINE_ISA": "portable"]).wait(timeout: 15)
        #expect(env.status == 0 && ws.json("e.json")?["isa"] as? String == "portable", "\(env.stderr)")
        let bad = try CLI.run("run", "p.yaml", "--isa", "sse9", in: ws.path)
        #expect(bad.status != 0 && bad.stderr.contains("--isa sse9: unknown instruction set; expected one of auto, avx2, avx512, portable"),
                "\(bad.stderr)")
        let badEnv = try CLI.Running(["run", "p.yaml"], in: ws.path, environment: ["PIPELINE_ISA": "AVX2"]).wait(timeout: 15)
        #expect(badEnv.status != 0 && badEnv.stderr.contains("PIPELINE_ISA=AVX2: unknown instruction set"), "\(badEnv.stderr)")
        for command in ["watch", "worker"] {
            let flag = try CLI.run(command, "p.yaml", "--isa", "sse9", in: ws.path)
            #expect(flag.status != 0 && flag.stderr.contains("--isa sse9: unknown instruction set"), "\(command): \(flag.stderr)")
        }
    }

    @Test("run --trace writes Chrome trace JSON with a span per node invocation")
    func trace() throws {
        let ws = try Workspace()
        try ws.write("p.yaml", Pipelines.numbers)
        let r = try CLI.run("run", "p.yaml", "--trace", "t.json", "--quiet", in: ws.path)
        #expect(r.status == 0, "\(r.stderr)")
        let trace = try #require(ws.json("t.json"))
        let events = try #require(trace["traceEvents"] as? [[String: Any]])
        let spans = events.filter { $0["ph"] as? String == "X" }
        // The source call, and one per packet in the sink (finish may add one).
        #expect(spans.filter { $0["name"] as? String == "src" }.count >= 1)
        #expect(spans.filter { $0["name"] as? String == "out" }.count >= 3)
        for span in spans {
            #expect(span["ts"] is Double || span["ts"] is Int)
            #expect(span["dur"] is Double || span["dur"] is Int)
            #expect(span["pid"] != nil && span["tid"] != nil)
        }
    }

    @Test("Ctrl-C drains in-flight items and exits 130")
    func interrupt() throws {
        let ws = try Workspace()
        try ws.write(
            "slow.yaml",
            """
            version: 1
            nodes:
              - id: src
                type: gen.sequence
                with: { count: 1000 }
              - id: slow
                type: util.delay
                inputs: { in: src }
                queue: { capacity: 2 }
                with: { ms: 50 }
              - id: out
                type: sink.jsonl
                inputs: { record: slow.out }
                with: { path: out/slow.jsonl, envelope: false }
            """)
        let running = try CLI.Running(["run", "slow.yaml", "--progress"], in: ws.path)
        // Progress lines start once the run (and its signal handler) is up.
        let deadline = Date().addingTimeInterval(10)
        while !running.stderrSoFar.contains("progress:") && running.process.isRunning && Date() < deadline {
            usleep(20_000)
        }
        kill(running.process.processIdentifier, SIGINT)
        let r = running.wait(timeout: 15)
        #expect(r.status == 130, "\(r.stderr)")
        #expect(r.stderr.contains("stopping: finishing in-flight items"))
        let lines = try #require(ws.read("out/slow.jsonl"), "the sink's file must be committed on Ctrl-C")
            .split(separator: "\n")
        #expect(lines.count >= 1 && lines.count < 1000)
        // What was written is a gap-free prefix: every item that entered the delay finished.
        #expect(lines == (0..<lines.count).map { Substring(String($0)) })
    }
}
