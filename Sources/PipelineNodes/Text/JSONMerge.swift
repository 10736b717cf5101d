import PipelineCore

/// Joins two values of the same item into one record.
final class JSONMerge: PipelineNode {
    static let type = "json.merge"
    static let summary = "Joins two inputs of the same item into one record."
    static let inputs = [PortSpec("a", .any), PortSpec("b", .any)]
    static let outputs = [PortSpec("record", .json)]
    static let options = [
        OptionSpec("keys", .strings, default: [],
            doc: "two names: the record is {NAME_A: a, NAME_B: b}; an empty name merges that side's fields in "
                + "([\"\", transcript] gives a's fields plus transcript: b); no names merges two objects' fields (b wins)"),
    ]

    private let keys: [String]

    init(options: Options, context: NodeContext) throws {
        keys = options.strings("keys")!
        guard keys.isEmpty || keys.count == 2 else { throw NodeError("keys must name exactly two fields, got \(keys.count)") }
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        let a = input["a"], b = input["b"]
        var fields: [String: Value] = [:]
        for (side, (name, value)) in zip(["a", "b"], zip(keys.isEmpty ? ["", ""] : keys, [a, b])) {
            if !name.isEmpty {
                fields[name] = value
            } else if case .object(let more) = value {
                fields.merge(more) { _, new in new }
            } else {
                throw NodeError("json.merge needs a map on '\(side)' to merge its fields, got \(value.kindName)")
            }
        }
        try output.emit(.object(fields))
    }
}
