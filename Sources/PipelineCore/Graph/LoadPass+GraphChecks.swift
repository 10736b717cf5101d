import Foundation
import Yams

// Phase 5, graph checks: cycles, each reported once with its nodes in order.
extension LoadPass {
    /// Reports each cycle once, naming its nodes in order.
    mutating func checkCycles(_ entries: [NodeEntry], bindings: [[PortRef?]]) {
        let n = entries.count
        // color: 0 unvisited, 1 on stack, 2 done
        var color = [Int](repeating: 0, count: n)
        var stack: [Int] = []
        var reported = Set<Set<Int>>()
        func visit(_ v: Int, _ pass: inout LoadPass) {
            color[v] = 1
            stack.append(v)
            for ref in bindings[v] {
                guard let u = ref?.node else { continue }
                if color[u] == 1 {
                    let cycle = Array(stack[stack.lastIndex(of: u)!...])
                    if reported.insert(Set(cycle)).inserted {
                        // Inputs point upstream; print in data-flow order.
                        let names = cycle.reversed().map { entries[$0].id } + [entries[cycle.last!].id]
                        pass.error(entries[v].entryNode, "cycle: " + names.joined(separator: " -> "),
                            hint: "a pipeline is a directed acyclic graph; remove one of these inputs")
                    }
                } else if color[u] == 0 {
                    visit(u, &pass)
                }
            }
            stack.removeLast()
            color[v] = 2
        }
        for v in 0..<n where color[v] == 0 { visit(v, &self) }
    }
}
