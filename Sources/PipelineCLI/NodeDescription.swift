import Foundation
import PipelineCore

/// The text `pipeline describe` prints.
enum NodeDescription {
    static func text(_ node: any PipelineNode.Type) -> String {
        var lines = ["\(node.type) — \(node.summary)", ""]
        if let command = node.placedByCommand { lines += ["not written in pipeline files: \(command)", ""] }
        func ports(_ title: String, _ ports: [PortSpec]) {
            lines.append("\(title):")
            if ports.isEmpty { lines.append("  (none)") }
            for p in ports {
                lines.append("  \(p.name): \(p.type)" + (p.optional ? " (optional)" : "") + (p.doc.isEmpty ? "" : " — \(p.doc)"))
            }
        }
        ports("inputs", node.inputs)
        ports("outputs", node.outputs)
        lines.append("options:")
        if node.options.isEmpty { lines.append("  (none)") }
        for o in node.options {
            var head = "  \(o.name) (\(o.kind.name)"
            if o.required { head += ", required" }
            if let d = o.defaultValue { head += ", default \(d.jsonString())" }
            if let r = o.range {
                head += ", \(OptionProblem.format(r.lowerBound))...\(OptionProblem.format(r.upperBound))"
            }
            lines.append(head + ")")
            lines.append("      \(o.doc)")
        }
        lines.append("node keys (every type): concurrency, ordered, on_error, queue { capacity, policy }")
        if let publisher = node as? any FilePublisher.Type {
            lines.append("under `pipeline watch`: \(publisher.watchGuarantee)")
        }
        lines.append("")
        lines.append("example:")
        let example = node.example.isEmpty ? generatedExample(node) : node.example
        lines += example.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }
        return lines.joined(separator: "\n")
    }

    /// An example entry built from the schema: required options with placeholder values.
    static func generatedExample(_ node: any PipelineNode.Type) -> String {
        let id = node.type.split(separator: ".").last.map(String.init) ?? "node"
        var lines = ["- id: \(id)", "  type: \(node.type)"]
        if !node.inputs.isEmpty {
            lines.append("  inputs: { " + node.inputs.filter { !$0.optional }.map { "\($0.name): UPSTREAM.PORT" }.joined(separator: ", ") + " }")
        }
        let required = node.options.filter(\.required)
        if !required.isEmpty {
            lines.append("  with: { " + required.map { "\($0.name): \(placeholder($0.kind))" }.joined(separator: ", ") + " }")
        }
        return lines.joined(separator: "\n")
    }

    private static func placeholder(_ kind: OptionSpec.Kind) -> String {
        switch kind {
        case .string: return "\"...\""
        case .int: return "1"
        case .double: return "1.0"
        case .bool: return "true"
        case .strings: return "[\"...\"]"
        case .choice(let values): return values.first ?? "\"\""
        case .json: return "{}"
        }
    }
}
