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
        for i in 0..<count {
            try output.emit(.int(start + i * step), item: prefix + String(i))
        }
    }
}
