/// The stack tops a grammar can produce, found from its structure alone: for every character
/// class (the only thing on top of a stack once rule references are expanded) the frames that
/// can lie under it, up to a depth. A frame is the position after a rule reference, pushed when
/// the reference is not the last element of its alternative (llama.cpp pushes nothing for a
/// reference in tail position: the caller's frames lie directly under the rule).
///
/// `GrammarConstraint` computes a mask part for each top when it is made, so decoding meets
/// them cached. The list may hold tops no input reaches (a little wasted work) and, past the
/// limits, may miss some (computed when first met); masks do not depend on it.
enum GrammarStackTops {
    /// Every `depth`-entry stack top (or whole stack, when shorter), bottom entry first; at most
    /// `limit`, and at most `perRule` frame lists under any one rule.
    static func enumerate(_ grammar: Grammar, depth: Int, limit: Int, perRule: Int = 64) -> [[Int32]] {
        let elements = grammar.elements
        let ruleCount = grammar.ruleStart.count
        // The rule each position belongs to, and every rule reference (caller rule, position).
        var ruleOf = [Int32](repeating: 0, count: elements.count)
        for r in 0..<ruleCount {
            var p = Int(grammar.ruleStart[r])
            while p < elements.count {
                ruleOf[p] = Int32(r)
                if elements[p].kind == .end { break }
                p += 1
            }
        }
        var callers = [[(rule: Int, position: Int)]](repeating: [], count: ruleCount)
        for (p, e) in elements.enumerated() where e.kind == .ruleRef && Int(e.value) < ruleCount {
            callers[Int(e.value)].append((Int(ruleOf[p]), p))
        }
        // frames[d][r]: the lists (bottom first) of up to d frames that can lie under an entry
        // of rule r; a shorter list means the stack's bottom.
        var frames: [[Set<[Int32]>]] = [Array(repeating: Set([[Int32]()]), count: ruleCount)]
        for d in 1..<max(1, depth) {
            var level = [Set<[Int32]>](repeating: [], count: ruleCount)
            level[grammar.root].insert([])
            var changed = true
            while changed {
                changed = false
                for r in 0..<ruleCount {
                    for (caller, q) in callers[r] where level[r].count < perRule {
                        let tail = elements[q + 1].endsSequence
                        let from = tail ? level[caller] : frames[d - 1][caller]
                        for list in from.sorted(by: { $0.lexicographicallyPrecedes($1) }) where level[r].count < perRule {
                            if level[r].insert(tail ? list : list + [Int32(q + 1)]).inserted { changed = true }
                        }
                    }
                }
            }
            frames.append(level)
        }
        let under = frames[max(1, depth) - 1]
        var tops: [[Int32]] = []
        for (p, e) in elements.enumerated() where e.isCharHead {
            for list in under[Int(ruleOf[p])].sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                if tops.count >= limit { return tops }
                tops.append(list + [Int32(p)])
            }
        }
        return tops
    }
}
