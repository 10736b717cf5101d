import Foundation
import PipelineCore
import Synchronization

extension TestNodes {
    /// A source that emits one item's packets after the given pauses: packet i leaves `gaps_ms[i]`
    /// milliseconds after packet i-1, carrying the monotonic clock (nanoseconds) when it left.
    public final class Paced: PipelineNode {
        public static let type = "test.paced"
        public static let summary = "Emits clock stamps after given pauses."
        public static let inputs: [PortSpec] = []
        public static let outputs = [PortSpec("out", .number)]
        public static let options = [OptionSpec("gaps_ms", .json, default: [], doc: "pause before each packet, ms")]
        let gaps: [Double]
        public init(options: Options, context: NodeContext) throws {
            gaps = options["gaps_ms"]?.arrayValue?.compactMap(\.doubleValue) ?? []
        }
        public func process(_ input: NodeInput, _ output: NodeOutput) throws {
            for (i, gap) in gaps.enumerated() {
                if gap > 0 { Thread.sleep(forTimeInterval: gap / 1000) }
                try output.emit(.int(Int(TestClock.nanos())), item: "paced", sequence: i)
            }
        }
    }

    /// Passes each value on after sleeping `ms` milliseconds: a consumer that is busy.
    public final class Sleep: PipelineNode {
        public static let type = "test.sleep"
        public static let summary = "Sleeps, then passes the value on."
        public static let inputs = [PortSpec("in", .any)]
        public static let outputs = [PortSpec("out", .any)]
        public static let options = [OptionSpec("ms", .double, default: 1, doc: "sleep per input, ms")]
        let ms: Double
        public init(options: Options, context: NodeContext) throws { ms = options.double("ms")! }
        public func process(_ input: NodeInput, _ output: NodeOutput) throws {
            Thread.sleep(forTimeInterval: ms / 1000)
            try output.emit(input.value)
        }
    }

    /// Records, per packet, the clock now minus the stamp it carries (nanoseconds), into the
    /// shared list named by `box`.
    public final class Lag: PipelineNode {
        public static let type = "test.lag"
        public static let summary = "Records each stamp's age on arrival."
        public static let inputs = [PortSpec("in", .number)]
        public static let outputs: [PortSpec] = []
        public static let options = [OptionSpec("box", .string, required: true, doc: "name of the list")]
        let box: String
        public init(options: Options, context: NodeContext) throws { box = options.string("box")! }
        public func process(_ input: NodeInput, _ output: NodeOutput) throws {
            let now = TestClock.nanos()
            let stamp = UInt64(input.value.intValue ?? 0)
            Lags.append(box, sequence: input.sequence, nanos: now &- stamp)
        }
    }
}

/// The monotonic clock in nanoseconds, as `test.paced` stamps and `test.lag` reads it.
public enum TestClock {
    public static func nanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

/// Named lists of (sequence, age in nanoseconds) filled by `test.lag`.
public enum Lags {
    private static let storage = Mutex<[String: [(sequence: Int, nanos: UInt64)]]>([:])
    static func append(_ box: String, sequence: Int, nanos: UInt64) {
        storage.withLock { $0[box, default: []].append((sequence, nanos)) }
    }
    public static func take(_ box: String) -> [(sequence: Int, nanos: UInt64)] {
        storage.withLock { $0.removeValue(forKey: box) ?? [] }
    }
}
