import Foundation
import Yams

// Phase 4, bindings: each input port bound to `node.port`, with port types checked.
extension LoadPass {
    /// Returns, per node, the binding of each input port (nil where unresolved).
    mutating func resolveInputs(_ entries: [NodeEntry]) -> [[PortRef?]] {
        var index: [String: Int] = [:]
        for (i, e) in entries.enumerated() { index[e.id] = i }
        var result: [[PortRef?]] = []
        for entry in entries {
            guard let type = entry.type else {
                result.append([])
                continue
            }
            var bound = [PortRef?](repeating: nil, count: type.inputs.count)
            for input in entry.inputs {
                guard let portIndex = type.inputs.firstIndex(where: { $0.name == input.port }) else {
                    error(input.portNode, "node '\(entry.id)' (\(type.type)) has no input port '\(input.port)'",
                        hint: Suggestions.hint(for: input.port, in: type.inputs.map(\.name), noun: "input port"))
                    continue
                }
                let parts = input.ref.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                if parts.contains(where: \.isEmpty) {
                    error(input.refNode, "input '\(input.port)' of node '\(entry.id)' has an invalid reference '\(input.ref)'",
                        hint: "write `NODE.PORT`, or `NODE` when that node has a single output")
                    continue
                }
                guard let sourceIndex = index[parts.first ?? ""] else {
                    error(input.refNode, "input '\(input.port)' of node '\(entry.id)' refers to unknown node '\(parts.first ?? "")'",
                        hint: Suggestions.hint(for: parts.first ?? "", in: index.keys.filter { $0 != entry.id }, noun: "node id"))
                    continue
                }
                let source = entries[sourceIndex]
                guard let sourceType = source.type else { continue }
                let outputIndex: Int
                if parts.count == 2 {
                    guard let o = sourceType.outputs.firstIndex(where: { $0.name == parts[1] }) else {
                        error(input.refNode, "node '\(source.id)' (\(sourceType.type)) has no output port '\(parts[1])'",
                            hint: Suggestions.hint(for: parts[1], in: sourceType.outputs.map(\.name), noun: "output port"))
                        continue
                    }
                    outputIndex = o
                } else if sourceType.outputs.count == 1 {
                    outputIndex = 0
                } else {
                    error(input.refNode, "'\(input.ref)' must name an output port: `\(source.id).PORT`",
                        hint: Suggestions.hint(for: "", in: sourceType.outputs.map(\.name), noun: "output port"))
                    continue
                }
                let produced = sourceType.outputs[outputIndex].type
                let expected = type.inputs[portIndex].type
                if !expected.accepts(produced) {
                    error(input.refNode,
                        "port type mismatch: '\(source.id).\(sourceType.outputs[outputIndex].name)' produces \(produced) "
                            + "but '\(entry.id).\(input.port)' expects \(expected)",
                        hint: "connect an output of type \(expected), or convert it with a node in between")
                    continue
                }
                bound[portIndex] = PortRef(node: sourceIndex, port: outputIndex)
            }
            for (i, port) in type.inputs.enumerated() where bound[i] == nil && !port.optional {
                if entry.inputs.contains(where: { $0.port == port.name }) || entry.malformedInputs.contains(port.name) {
                    continue
                }
                error(entry.entryNode, "input port '\(port.name)' of node '\(entry.id)' is not connected",
                    hint: "add `inputs: { \(port.name): NODE.PORT }` (\(port.type))")
            }
            result.append(bound)
        }
        return result
    }
}
