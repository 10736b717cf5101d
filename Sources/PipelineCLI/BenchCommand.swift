import ArgumentParser
import Foundation
import PipelineCore
import PipelineNodes
import Synchronization

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure scheduler throughput (hops/s) beside GStreamer on the same shapes.",
        discussion: """
            A hop is one packet crossing one queue between two threads. Shapes: chains of 1, 5 and 10
            pass-through stages between a source and a sink, and a fan-out/fan-in. GStreamer runs the
            same shapes with gst-launch-1.0 (fakesrc, queue, identity, fakesink sync=false); its
            process start-up, measured with a 1-buffer run, is subtracted.

            With --latency-rate, measures per-packet latency instead: a source emits packets at that
            rate, each stamped with the monotonic clock, through --stages pass-through stages to a
            sink that reads the clock again; prints "p50_us p99_us max_us received" (the first 5%
            are a warm-up). scripts/bench-latency runs GStreamer's chain the same way beside it.
            """)

    @Option(help: "Packets per shape (per latency run: default 5 s at the rate).") var packets: Int?
    @Option(help: "Rounds per shape (the sides alternate); the median and the best are reported.") var repeats = 3
    @Flag(help: "Skip GStreamer.") var noGst = false
    @Option(help: "Shapes to run (chain-1, chain-5, chain-10, fan-out/fan-in); all when none is given.")
    var shape: [String] = []
    @Option(help: "Measure latency at this many packets per second instead of throughput.")
    var latencyRate: Double?
    @Option(help: "Pass-through stages between source and sink for --latency-rate.") var stages = 5

    func validate() throws {
        let names = Bench.Shape.all.map(\.name)
        for name in shape where !names.contains(name) {
            throw ValidationError("unknown shape '\(name)'; shapes: \(names.joined(separator: ", "))")
        }
        if let latencyRate, !(latencyRate > 0 && latencyRate <= 1_000_000) {
            throw ValidationError("--latency-rate must be between 0 and 1000000 packets per second")
        }
        if !(0...1000).contains(stages) { throw ValidationError("--stages must be 0...1000") }
        if let packets, packets < 20 { throw ValidationError("--packets must be at least 20") }
    }

    func run() throws {
        if let latencyRate {
            let count = packets ?? Int(latencyRate * 5)
            let l = try Bench.measureLatency(rate: latencyRate, packets: count, stages: stages)
            print(String(format: "%.1f %.1f %.1f %d", l.p50, l.p99, l.max, l.received))
            return
        }
        let packets = packets ?? 1_000_000
        let gst = noGst ? nil : Bench.findExecutable("gst-launch-1.0")
        if !noGst && gst == nil { Terminal.line("gst-launch-1.0 not found: install gstreamer1.0-tools (scripts/setup does)") }
        print("shape            hops/   pipeline hops/s        gstreamer hops/s       ratio")
        print("                 packet  median     best        median     best        median  best")
        for shape in Bench.Shape.all where self.shape.isEmpty || self.shape.contains(shape.name) {
            // The sides alternate, the first side swapping every round, so both see the same
            // machine (load, frequency, caches) as evenly as a shared machine allows.
            var ours: [Double] = []
            var theirs: [Double] = []
            for round in 0..<repeats {
                if let gst, round % 2 == 1 { theirs.append(try Bench.measureGStreamer(shape, packets: packets, gst: gst)) }
                ours.append(try Bench.measureOurs(shape, packets: packets))
                if let gst, round % 2 == 0 { theirs.append(try Bench.measureGStreamer(shape, packets: packets, gst: gst)) }
            }
            var line = shape.name.padding(toLength: 17, withPad: " ", startingAt: 0)
                + String(format: "%-7d %-10.0f %-11.0f ", shape.hopsPerPacket, Bench.median(ours), ours.max()!)
            if !theirs.isEmpty {
                line += String(
                    format: "%-10.0f %-11.0f %.2fx   %.2fx", Bench.median(theirs), theirs.max()!,
                    Bench.median(ours) / Bench.median(theirs), ours.max()! / theirs.max()!)
            }
            print(line)
        }
    }
}

enum Bench {
    /// The middle value (the mean of the two middle ones for an even count).
    static func median(_ values: [Double]) -> Double {
        let v = values.sorted()
        return v.count % 2 == 1 ? v[v.count / 2] : (v[v.count / 2 - 1] + v[v.count / 2]) / 2
    }

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

    /// Per-packet latency in microseconds through a chain of `stages` pass-through nodes, the
    /// source emitting `packets` packets at `rate` per second.
    static func measureLatency(rate: Double, packets: Int, stages: Int) throws -> (
        p50: Double, p99: Double, max: Double, received: Int
    ) {
        var benchRegistry = registry
        benchRegistry.register(Paced.self)
        benchRegistry.register(LatencySink.self)
        var y = "version: 1\nname: latency\nsettings: { watchdog_seconds: 0 }\nnodes:\n"
        y += "  - { id: src, type: bench.paced, with: { rate: \(rate), count: \(packets) } }\n"
        var previous = "src.stamp"
        for i in 0..<stages {
            y += "  - { id: s\(i), type: util.identity, inputs: { in: \(previous) } }\n"
            previous = "s\(i).out"
        }
        y += "  - { id: sink, type: bench.latency, inputs: { stamp: \(previous) } }\n"
        let graph = try PipelineLoader(registry: benchRegistry).load(text: y, file: "<bench>")
        LatencySink.latencies.withLock { $0 = [] }
        let summary = try PipelineRun(graph: graph).run()
        var l = LatencySink.latencies.withLock { $0 }
        guard summary.succeeded, l.count == packets else {
            throw ValidationError("latency run lost packets (\(l.count) of \(packets)): \(summary.text())")
        }
        l = Array(l.dropFirst(packets / 20)).sorted()
        return (
            Double(l[l.count / 2]) / 1e3, Double(l[Int(Double(l.count) * 0.99)]) / 1e3, Double(l.last!) / 1e3,
            packets
        )
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

    /// The latency benchmark's source: one item whose packets leave at fixed times (absolute
    /// deadlines on the monotonic clock), each carrying the clock reading when it was emitted.
    final class Paced: PipelineNode {
        static let type = "bench.paced"
        static let summary = "Emits clock stamps at a fixed rate (latency benchmark source)."
        static let inputs: [PortSpec] = []
        static let outputs = [PortSpec("stamp", .number)]
        static let options = [
            OptionSpec("rate", .double, default: 1000, doc: "packets per second"),
            OptionSpec("count", .int, default: 5000, doc: "packets"),
        ]
        let rate: Double
        let count: Int
        init(options: Options, context: NodeContext) throws {
            rate = options.double("rate")!
            count = options.int("count")!
        }
        func process(_ input: NodeInput, _ output: NodeOutput) throws {
            let start = Bench.monotonicNanos() + 10_000_000
            for i in 0..<count {
                let deadline = start + UInt64(Double(i) * 1e9 / rate)
                var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
                while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil) != 0 {}
                try output.emit(.int(Int(Bench.monotonicNanos())), item: "paced", sequence: i)
            }
        }
    }

    /// The latency benchmark's sink: records the clock minus each packet's stamp.
    final class LatencySink: PipelineNode {
        static let type = "bench.latency"
        static let summary = "Records per-packet latency (latency benchmark sink)."
        static let inputs = [PortSpec("stamp", .number)]
        static let outputs: [PortSpec] = []
        static let options: [OptionSpec] = []
        static let latencies = Mutex<[UInt64]>([])
        init(options: Options, context: NodeContext) throws {}
        func process(_ input: NodeInput, _ output: NodeOutput) throws {
            let now = Bench.monotonicNanos()
            let stamp = UInt64(input.value.intValue ?? 0)
            Self.latencies.withLock { $0.append(now - stamp) }
        }
    }

    static func monotonicNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
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
