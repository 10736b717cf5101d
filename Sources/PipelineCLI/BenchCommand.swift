import ArgumentParser
import Foundation
import PipelineCore
import PipelineNodes

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure scheduler throughput (hops/s) beside GStreamer on the same shapes.",
        discussion: """
            A hop is one packet crossing one queue between two threads. Shapes: chains of 1, 5 and 10
            pass-through stages between a source and a sink, and a fan-out/fan-in. GStreamer runs the
            same shapes with gst-launch-1.0 (fakesrc, queue, identity, fakesink sync=false); its
            process start-up, measured with a 1-buffer run, is subtracted.
            """)

    @Option(help: "Packets per shape.") var packets = 1_000_000
    @Option(help: "Runs per shape; the best is reported.") var repeats = 3
    @Flag(help: "Skip GStreamer.") var noGst = false

    func run() throws {
        let gst = noGst ? nil : Bench.findExecutable("gst-launch-1.0")
        if !noGst && gst == nil { Terminal.line("gst-launch-1.0 not found: install gstreamer1.0-tools (scripts/setup does)") }
        print("shape               hops/packet   pipeline hops/s   gstreamer hops/s   ratio")
        for shape in Bench.Shape.all {
            let ours = try (0..<repeats).map { _ in try Bench.measureOurs(shape, packets: packets) }.max()!
            var line = shape.name.padding(toLength: 20, withPad: " ", startingAt: 0)
                + String(format: "%-13d %-17.0f ", shape.hopsPerPacket, ours)
            if let gst {
                let theirs = try (0..<repeats).map { _ in try Bench.measureGStreamer(shape, packets: packets, gst: gst) }.max()!
                line += String(format: "%-18.0f %.2fx", theirs, ours / theirs)
            }
            print(line)
        }
    }
}

enum Bench {
    struct Shape: Sendable {
        let name: String
        /// Queue crossings per source packet, the same in both engines.
        let hopsPerPacket: Int
        let yaml: @Sendable (Int) -> String
        let gst: @Sendable (Int) -> String

        static func chain(_ stages: Int) -> Shape {
            Shape(
                name: "chain-\(stages)", hopsPerPacket: stages + 1,
                yaml: { n in
                    var y = "version: 1\nname: chain\nsettings: { watchdog_seconds: 0 }\nnodes:\n"
                    y += "  - { id: src, type: gen.sequence, with: { count: \(n) } }\n"
                    var previous = "src.value"
                    for i in 0..<stages {
                        y += "  - { id: s\(i), type: util.identity, inputs: { in: \(previous) } }\n"
                        previous = "s\(i).out"
                    }
                    y += "  - { id: sink, type: bench.discard, inputs: { in: \(previous) } }\n"
                    return y
                },
                gst: { n in
                    "fakesrc num-buffers=\(n) ! " + String(repeating: "queue ! identity ! ", count: stages)
                        + "queue ! fakesink sync=false"
                })
        }

        /// src -> (a, b) -> join -> sink: 5 queue crossings per source packet. GStreamer: a tee into
        /// two queued branches and a funnel; each source buffer crosses 2 branch queues, and the two
        /// copies cross the sink queue (4) plus the source queue (1).
        static let fanOutIn = Shape(
            name: "fan-out/fan-in", hopsPerPacket: 5,
            yaml: { n in
                """
                version: 1
                name: fan
                settings: { watchdog_seconds: 0 }
                nodes:
                  - { id: src, type: gen.sequence, with: { count: \(n) } }
                  - { id: a, type: util.identity, inputs: { in: src.value } }
                  - { id: b, type: util.identity, inputs: { in: src.value } }
                  - { id: join, type: bench.join, inputs: { a: a.out, b: b.out } }
                  - { id: sink, type: bench.discard, inputs: { in: join.out } }
                """
            },
            gst: { n in
                "fakesrc num-buffers=\(n) ! queue ! tee name=t t. ! queue ! identity ! f. t. ! queue ! identity ! f. "
                    + "funnel name=f ! queue ! fakesink sync=false"
            })

        static let all = [chain(1), chain(5), chain(10), fanOutIn]
    }

    /// Hops per second through our scheduler, timed from start to the last packet's arrival.
    static func measureOurs(_ shape: Shape, packets: Int) throws -> Double {
        var benchRegistry = registry
        benchRegistry.register(Discard.self)
        benchRegistry.register(Join.self)
        let graph = try PipelineLoader(registry: benchRegistry).load(text: shape.yaml(packets), file: "<bench>")
        let run = try PipelineRun(graph: graph)
        let start = DispatchTime.now().uptimeNanoseconds
        let summary = run.run()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        guard summary.succeeded, summary.nodes.last!.packetsIn == packets else {
            throw ValidationError("bench run lost packets: \(summary.text())")
        }
        return Double(packets * shape.hopsPerPacket) / seconds
    }

    static func measureGStreamer(_ shape: Shape, packets: Int, gst: String) throws -> Double {
        let startup = try time(gst, shape.gst(1))
        let total = try time(gst, shape.gst(packets))
        return Double(packets * shape.hopsPerPacket) / max(1e-6, total - startup)
    }

    private static func time(_ gst: String, _ description: String) throws -> Double {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: gst)
        process.arguments = ["-q"] + description.split(separator: " ").map(String.init)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let start = DispatchTime.now().uptimeNanoseconds
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ValidationError("gst-launch-1.0 failed: \(description)") }
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    static func findExecutable(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let path = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// The benchmark's fan-in: the scheduler pairs `a` and `b` of the same item; the node
    /// passes `a` on (GStreamer's funnel does no pairing at all).
    final class Join: PipelineNode {
        static let type = "bench.join"
        static let summary = "Joins two inputs and passes the first on (benchmark fan-in)."
        static let inputs = [PortSpec("a", .any), PortSpec("b", .any)]
        static let outputs = [PortSpec("out", .any)]
        static let options: [OptionSpec] = []
        init(options: Options, context: NodeContext) throws {}
        func process(_ input: NodeInput, _ output: NodeOutput) throws { try output.emit(input.value) }
    }

    /// The benchmark's sink: takes packets and does nothing with them.
    final class Discard: PipelineNode {
        static let type = "bench.discard"
        static let summary = "Consumes packets (benchmark sink)."
        static let inputs = [PortSpec("in", .any)]
        static let outputs: [PortSpec] = []
        static let options: [OptionSpec] = []
        init(options: Options, context: NodeContext) throws {}
        func process(_ input: NodeInput, _ output: NodeOutput) throws {}
    }
}
