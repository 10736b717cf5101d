import PipelineCore

/// Emits the integers start, start+step, ... as separate items: a load generator for
/// benchmarks and tests, and a counter for pipelines that need one.
final class SequenceSource: PipelineNode {
    static let type = "gen.sequence"
    static let summary = "Emits `count` integers, one item each (load generator, counters)."
    static let inputs: [PortSpec] = []
    static let outputs = [PortSpec("value", .number, doc: "the integer")]
    static let options = [
        OptionSpec("count", .int, required: true, range: 0...1e12, doc: "how many items"),
        OptionSpec("start", .int, default: 0, doc: "first value"),
        OptionSpec("step", .int, default: 1, doc: "increment"),
        OptionSpec("prefix", .string, default: "n", doc: "item ids are PREFIX + index"),
    ]

    private let count: Int, start: Int, step: Int, prefix: String

    init(options: Options, context: NodeContext) throws {
        count = options.int("count")!
        start = options.int("start")!
        step = options.int("step")!
        prefix = options.string("prefix")!
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        let prefix = Array(prefix.utf8)
        for i in 0..<count {
            try output.emit(.int(start + i * step), item: Self.id(prefix, i))
        }
    }

    /// PREFIX + the decimal digits of `index` (as `prefix + String(index)`, without the
    /// general integer formatting: this runs once per item of a load generator).
    static func id(_ prefix: [UInt8], _ index: Int) -> String {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for any Int's digits
        return withUnsafeMutableBytes(of: &digits) { buffer in
            var n = index.magnitude
            var at = buffer.count
            repeat {
                at -= 1
                buffer[at] = UInt8(truncatingIfNeeded: 48 + n % 10)
                n /= 10
            } while n > 0
            let sign = index < 0 ? 1 : 0
            let length = prefix.count + sign + buffer.count - at
            return String(unsafeUninitializedCapacity: length) { out in
                var o = 0
                for b in prefix { out[o] = b; o += 1 }
                if sign == 1 { out[o] = 45; o += 1 }
                for k in at..<buffer.count { out[o] = buffer[k]; o += 1 }
                return o
            }
        }
    }
}
