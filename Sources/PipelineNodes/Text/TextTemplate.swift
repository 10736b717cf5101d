import Foundation
import PipelineCore

/// Renders text from a record: `{field}`, `{a.b.0}` paths, `{value}`, `{item}`, `{sequence}`.
final class TextTemplate: PipelineNode {
    static let type = "text.template"
    static let summary = "Formats text from a record's fields: \"{name} has {words} words\"."
    static let inputs = [PortSpec("record", .any)]
    static let outputs = [PortSpec("text", .text)]
    static let options = [
        OptionSpec("template", .string, required: true,
            doc: "text with {field} or {a.b.0} placeholders; {value} is the whole record, {item} the item id; {{ and }} are literal braces"),
        OptionSpec("missing", .choice(["fail", "empty"]), default: "fail", doc: "a placeholder with no value: fail the item or leave it empty"),
    ]

    private let template: String
    private let failOnMissing: Bool

    init(options: Options, context: NodeContext) throws {
        template = options.string("template")!
        failOnMissing = options.string("missing") == "fail"
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        let record = input.value
        var out = ""
        var rest = Substring(template)
        while let open = rest.firstIndex(where: { $0 == "{" || $0 == "}" }) {
            out += rest[..<open]
            let next = rest.index(after: open)
            if next < rest.endIndex, rest[next] == rest[open] {
                out.append(rest[open])
                rest = rest[rest.index(after: next)...]
                continue
            }
            guard rest[open] == "{", let close = rest[next...].firstIndex(of: "}") else {
                throw NodeError("unbalanced brace in template '\(template)'")
            }
            let key = String(rest[next..<close]).trimmingCharacters(in: .whitespaces)
            let value: Value?
            switch key {
            case "value": value = record
            case "item": value = input.item.map { .string($0.id) }
            case "sequence": value = .int(input.sequence)
            default: value = JSONGet.lookup(record, path: key)
            }
            if let value {
                if case .string(let s) = value { out += s } else { out += value.jsonString() }
            } else if failOnMissing {
                throw NodeError("template field '\(key)' is not in the record")
            }
            rest = rest[rest.index(after: close)...]
        }
        out += rest
        try output.emit(.string(out))
    }
}
