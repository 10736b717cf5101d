import PipelineCore

/// Joins two values of the same item into one record.
final class JSONMerge: PipelineNode {
    static let type = "json.merge"
    static let summary = "Joins two inputs of the same item into one record."
    static let inputs = [PortSpec("a", .any), PortSpec("b", .any)]
    static let outputs = [PortSpec("record", .json)]
    static let options = [
        OptionSpec("keys", .strings, default: [],
            doc: "two names: the record is {NAME_A: a, NAME_B: b}; empty merges two objects' fields (b wins)"),
    ]

    private let keys: [String]

    init(options: Options, context: NodeContext) throws {
        keys = options.strings("keys")!
        guard keys.isEmpty || keys.count == 2 else { throw NodeError("keys must name exactly two fields, got \(keys.count)") }
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        let a = input["a"], b = input["b"]
        if keys.count == 2 {
            try output.emit(.object([keys[0]: a, keys[1]: b]))
            return
        }
        guard case .object(var fields) = a, case .object(let more) = b else {
            throw NodeError("json.merge without keys needs two maps, got \(a.kindName) and \(b.kindName)")
        }
        fields.merge(more) { _, new in new }
        try output.emit(.object(fields))
    }
}
