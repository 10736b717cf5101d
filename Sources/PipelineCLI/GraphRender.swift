import Foundation
import PipelineCore

/// Graph pictures for `pipeline graph`.
enum GraphRender {
    static func dot(_ graph: PipelineGraph) -> String {
        var lines = ["digraph \"\(escape(graph.name))\" {", "  rankdir=LR;", "  node [shape=box, fontname=\"Helvetica\"];"]
        for node in graph.nodes {
            let extra = node.concurrency > 1 ? "\\n×\(node.concurrency)" : ""
            lines.append("  \"\(node.id)\" [label=\"\(node.id)\\n\(node.type.type)\(extra)\"];")
        }
        for edge in graph.edges {
            let from = graph.nodes[edge.fromNode], to = graph.nodes[edge.toNode]
            let label = "\(from.type.outputs[edge.fromPort].name) → \(to.inputPorts[edge.toPort].name)"
            lines.append("  \"\(from.id)\" -> \"\(to.id)\" [label=\"\(escape(label))\"];")
        }
        lines.append("}")
        return lines.joined(separator: "\n")
    }

    static func mermaid(_ graph: PipelineGraph) -> String {
        var lines = ["flowchart LR"]
        for node in graph.nodes {
            lines.append("  \(node.id)[\"\(node.id)<br/>\(node.type.type)\"]")
        }
        for edge in graph.edges {
            let from = graph.nodes[edge.fromNode], to = graph.nodes[edge.toNode]
            lines.append(
                "  \(from.id) -- \"\(from.type.outputs[edge.fromPort].name) → \(to.inputPorts[edge.toPort].name)\" --> \(to.id)")
        }
        return lines.joined(separator: "\n")
    }

    private static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }
}
