import Foundation
import PipelineCore
import Synchronization

/// Node types for scheduler tests: they make timing, failures and stalls happen on purpose.
public enum TestNodes {
    public static let all: [any PipelineNode.Type] = [
        RandomDelay.self, FailOn.self, Stall.self, Collect.self, Inflate.self, Drop.self, Items.self,
        Repeat.self, Paced.self, Sleep.self, Lag.self,
    ]

    /// Passes values on after a random delay (seeded per value, so runs are repeatable).
    public final class RandomDelay: PipelineNode {
        public static let type = "test.random_delay"
        public static let summary = "Passes values on after a random delay."
        public static let inputs = [PortSpec("in", .any)]
        public static let outputs = [PortSpec("out", .any)]
        public static let options = [OptionSpec("max_ms", .double, default: 5, doc: "largest delay")]
        let maxMS: Double
        public init(options: Options, context: NodeContext) throws { maxMS = options.double("max_ms")! }
        public func process(_ input: NodeInput, _ output: NodeOutput) throws {
            var rng = SplitMix(seed: UInt64(bitPattern: Int64(input.value.intValue ?? 0)) &+ 7)
            Thread.sleep(forTimeInterval: Double(rng.next() % 1000) / 1000 * maxMS / 1000)
            try output.emit(input.value)
        }
    }

    /// Fails items whose integer value is in `values`; passes the rest on.
    public final class FailOn: PipelineNode {
        public static let type = "test.fail_on"
        public static let summary = "Fails chosen items."
        public static let inputs = [PortSpec("in", .any)]
        public static let outputs = [PortSpec("out", .any)]
        public static let options = [OptionSpec("values", .json, default: [], doc: "integers to fail")]
        let values: Set<Int>
        public init(options: Options, context: NodeContext) throws {
            values = Set(options["values"]?.arrayValue?.compactMap(\.intValue) ?? [])
        }
        public func process(_ input: NodeInput, _ output: NodeOutput) throws {
            if let v = input.value.intValue, values.contains(v) { throw NodeError("refusing \(v)") }
            try output.emit(input.value)
        }
    }

    /// Blocks forever on the given value (until the run is aborted, polled every 10 ms).
    public final class Stall: PipelineNode {
        public static let type = "test.stall"
        public static let summary = "Hangs on one value."
        public static let inputs = [PortSpec("in", .any)]
        public static let outputs = [PortSpec("out", .any)]
        public static let options = [
            OptionSpec("on", .int, default: 0, doc: "value to hang on"),
            OptionSpec("seconds", .double, default: 3, doc: "how long to hang"),
        ]
        let on: Int
        let seconds: Double
        public init(options: Options, context: NodeContext) throws {
            on = options.int("on")!
            seconds = options.double("seconds")!
        }
        public func process(_ input: NodeInput, _ output: NodeOutput) throws {
            if input.value.intValue == on { Thread.sleep(forTimeInterval: seconds) }
            try output.emit(input.value)
        }
    }

    /// Records every value it receives, in arrival order, into a shared box named by `box`.
    public final class Collect: PipelineNode {
        public static let type = "test.collect"
        public static let summary = "Records values for assertions."
        public static let inputs = [PortSpec("in", .any)]
        public static let outputs: [PortSpec] = []
        public static let options = [OptionSpec("box", .string, required: true, doc: "name of the collection box")]
        let box: String
        public init(options: Options, context: NodeContext) throws { box = options.string("box")! }
        public func process(_ input: NodeInput, _ output: NodeOutput) throws {
            Boxes.append(box, input.packet(at: 0)!)
        }
    }
}

/// Named, thread-safe packet collections filled by `test.collect`.
public enum Boxes {
    private static let storage = Mutex<[String: [Packet]]>([:])
    public static func append(_ box: String, _ packet: Packet) { storage.withLock { $0[box, default: []].append(packet) } }
    public static func take(_ box: String) -> [Packet] { storage.withLock { $0.removeValue(forKey: box) ?? [] } }
    /// How many packets the box holds now (it keeps them).
    public static func count(_ box: String) -> Int { storage.withLock { $0[box]?.count ?? 0 } }
}

/// A tiny seeded generator for repeatable test randomness.
public struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A payload that counts how many instances are alive, to prove memory stays bounded.
public final class TrackedPayload: Payload, @unchecked Sendable {
    public static let live = Atomic<Int>(0)
    public static let peak = Atomic<Int>(0)
    public let bytes: [UInt8]

    public init(size: Int) {
        bytes = [UInt8](repeating: 1, count: size)
        let (_, now) = Self.live.add(1, ordering: .relaxed)
        var seen = Self.peak.load(ordering: .relaxed)
        while now > seen {
            let (exchanged, current) = Self.peak.compareExchange(expected: seen, desired: now, ordering: .relaxed)
            if exchanged { break }
            seen = current
        }
    }

    deinit { Self.live.subtract(1, ordering: .relaxed) }

    public var portType: PortType { .bytes }
    public var summary: Value { ["bytes": .int(bytes.count)] }

    public static func reset() {
        live.store(0, ordering: .relaxed)
        peak.store(0, ordering: .relaxed)
    }
}

extension TestNodes {
    /// Turns each value into a large tracked payload.
    public final class Inflate: PipelineNode {
        public static let type = "test.inflate"
        public static let summary = "Makes a large payload per packet."
        public static let inputs = [PortSpec("in", .any)]
        public static let outputs = [PortSpec("out", .bytes)]
        public static let options = [OptionSpec("bytes", .int, default: 1_000_000, doc: "payload size")]
        let size: Int
        public init(options: Options, context: NodeContext) throws { size = options.int("bytes")! }
        public func process(_ input: NodeInput, _ output: NodeOutput) throws {
            try output.emit(.payload(TrackedPayload(size: size)))
        }
    }

    /// Emits nothing for chosen values (a filter), passes the rest.
    public final class Drop: PipelineNode {
        public static let type = "test.drop"
        public static let summary = "Emits nothing for chosen values."
        public static let inputs = [PortSpec("in", .any)]
        public static let outputs = [PortSpec("out", .any)]
        public static let options = [OptionSpec("values", .json, default: [], doc: "integers to swallow")]
        let values: Set<Int>
        public init(options: Options, context: NodeContext) throws {
            values = Set(options["values"]?.arrayValue?.compactMap(\.intValue) ?? [])
        }
        public func process(_ input: NodeInput, _ output: NodeOutput) throws {
            if let v = input.value.intValue, values.contains(v) { return }
            try output.emit(input.value)
        }
    }
}

extension TestNodes {
    /// A source of items with several packets each: item `iK` carries values `100·K + j` with
    /// sequence j and timestamp j / 2 on `out`, and one packet `K` (sequence 0) on `head`. With
    /// `wait`, it waits for each item to finish before it starts the next, and fails itself
    /// if one does not finish within `timeout` seconds (the item was held back).
    public final class Items: PipelineNode {
        public static let type = "test.items"
        public static let summary = "Emits items of several packets each."
        public static let inputs: [PortSpec] = []
        public static let outputs = [PortSpec("out", .any), PortSpec("head", .any)]
        public static let options = [
            OptionSpec("count", .int, default: 3, doc: "items"),
            OptionSpec("per_item", .int, default: 4, doc: "packets per item on out"),
            OptionSpec("wait", .bool, default: false, doc: "wait for each item to finish before the next"),
            OptionSpec("timeout", .double, default: 5, doc: "seconds to wait for an item"),
        ]
        let count: Int
        let perItem: Int
        let wait: Bool
        let timeout: Double
        /// Finished item ids, filled from the run's item observer (any thread).
        final class Finished: Sendable {
            let ids = Mutex<Set<String>>([])
            let signal = DispatchSemaphore(value: 0)
        }
        let finished = Finished()

        public init(options: Options, context: NodeContext) throws {
            count = options.int("count")!
            perItem = options.int("per_item")!
            wait = options.bool("wait")!
            timeout = options.double("timeout")!
            if wait {
                context.observeItems { [finished] outcome in
                    finished.ids.withLock { _ = $0.insert(outcome.id) }
                    finished.signal.signal()
                }
            }
        }

        public func process(_ input: NodeInput, _ output: NodeOutput) throws {
            for k in 0..<count {
                let id = "i\(k)"
                for j in 0..<perItem {
                    try output.emit(.int(100 * k + j), to: "out", item: id, sequence: j, timestamp: Double(j) / 2)
                }
                try output.emit(.int(k), to: "head", item: id)
                guard wait else { continue }
                output.endItem()
                let deadline = Date().addingTimeInterval(timeout)
                while !finished.ids.withLock({ $0.contains(id) }) {
                    guard finished.signal.wait(timeout: .now() + 0.05) == .success || Date() < deadline else {
                        throw NodeError("item \(id) did not finish within \(timeout) s of its last packet")
                    }
                }
            }
        }
    }
}

extension TestNodes {
    /// Emits each input `times` times, as sequences `times·s + j` of the input's item: a node
    /// that emits many packets per input, so its emits fill a small edge inside `process`.
    public final class Repeat: PipelineNode {
        public static let type = "test.repeat"
        public static let summary = "Emits each input several times."
        public static let inputs = [PortSpec("in", .any)]
        public static let outputs = [PortSpec("out", .any)]
        public static let options = [OptionSpec("times", .int, default: 10, doc: "packets per input")]
        let times: Int
        public init(options: Options, context: NodeContext) throws { times = options.int("times")! }
        public func process(_ input: NodeInput, _ output: NodeOutput) throws {
            for j in 0..<times { try output.emit(input.value, sequence: input.sequence * times + j) }
        }
    }
}
