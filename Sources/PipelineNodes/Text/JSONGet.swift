import PipelineCore

/// Picks one field out of a record by a dotted path.
final class JSONGet: PipelineNode {
    static let type = "json.get"
    static let summary = "Picks a field out of a record by a dotted path (a.b.0.c)."
    static let inputs = [PortSpec("record", .any)]
    static let outputs = [PortSpec("value", .any)]
    static let options = [
        OptionSpec("path", .string, required: true, doc: "dotted path; numbers index lists"),
        OptionSpec("default", .json, doc: "value when the path is absent; without it the item fails"),
    ]

    private let path: String
    private let fallback: Value?

    init(options: Options, context: NodeContext) throws {
        path = options.string("path")!
        fallback = options["default"]
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        guard let value = Self.lookup(input.value, path: path) ?? fallback else {
            throw NodeError("path '\(path)' is not in the record")
        }
        try output.emit(value)
    }

    /// Follows a dotted path through objects and lists; nil when any step is missing.
    static func lookup(_ value: Value, path: String) -> Value? {
        var current = value
        for part in path.split(separator: ".") {
            switch current {
            case .object(let fields):
                guard let next = fields[String(part)] else { return nil }
                current = next
            case .array(let items):
                guard let i = Int(part), items.indices.contains(i) else { return nil }
                current = items[i]
            case .payload(let p):
                guard let next = lookup(p.summary, path: String(part)) else { return nil }
                current = next
            default:
                return nil
            }
        }
        return current
    }
}
