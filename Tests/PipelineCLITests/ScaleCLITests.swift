import Foundation
import Testing

/// Graphs of thousands of nodes run on about as many threads as there are cores: the thread
/// count of a `pipeline run` process is read from /proc/PID/task while it runs.
@Suite("Scheduler at scale (CLI)")
struct ScaleCLITests {
    /// A chain of `nodes` pass-through nodes, or `nodes` of them fed by one source (a fan-out),
    /// the last one writing `packets` numbers to out/n.jsonl.
    static func pipeline(_ shape: String, nodes: Int, packets: Int) -> String {
        var yaml = "version: 1\nname: \(shape)\nnodes:\n"
        yaml += "  - { id: src, type: gen.sequence, with: { count: \(packets) } }\n"
        var last = "src.value"
        for i in 0..<nodes {
            yaml += "  - { id: n\(i), type: util.identity, inputs: { in: \(shape == "chain" ? last : "src.value") } }\n"
            last = "n\(i).out"
        }
        yaml += "  - { id: out, type: sink.jsonl, inputs: { record: \(last) }, with: { path: out/n.jsonl } }\n"
        return yaml
    }

    @Test(
        "a 5,000-node chain and a 1,000-node fan-out run with at most cores + 8 threads in the process",
        arguments: [("chain", 5_000), ("fan-out", 1_000)])
    func threadsStayNearCores(shape: String, nodes: Int) throws {
        let packets = 300
        let ws = try Workspace()
        try ws.write("p.yaml", Self.pipeline(shape, nodes: nodes, packets: packets))
        let running = try CLI.Running(["run", "p.yaml"], in: ws.path)
        let pid = running.process.processIdentifier
        var peak = 0
        var samples = 0
        while running.process.isRunning {
            if let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") {
                peak = max(peak, tasks.count)
                samples += 1
            }
            usleep(2_000)
        }
        let result = running.wait(timeout: 120)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        #expect(result.status == 0, "\(result.stderr)")
        #expect(samples > 10, "the run ended before its threads could be counted")
        #expect(peak <= cores + 8, "\(peak) threads on \(cores) cores")
        let values = (ws.read("out/n.jsonl") ?? "").split(separator: "\n").map { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["value"] as? Int ?? -1
        }
        #expect(values.count == packets)
        #expect(values == Array(0..<packets), "the values arrived out of order")
        print("threads: \(shape) of \(nodes) nodes: peak \(peak) threads in `pipeline run` on \(cores) cores (\(samples) samples)")
    }
}
