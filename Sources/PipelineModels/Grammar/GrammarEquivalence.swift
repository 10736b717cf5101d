/// Grammar positions that behave alike for the next `horizon` characters, mapped to one of
/// them, so that mask parts (`GrammarConstraint`), which look at most one token ahead, are
/// computed once for all of them.
///
/// Counted repetitions are where this matters: `x{0,n}` becomes a chain of n generated rules
/// (`r_k ::= x r_(k-1) | `) and `x{n}` n copies of `x` in a row, so every character of a string
/// under `maxLength: 32767` sits at another position, and without this each token inside it
/// would pay a walk of the whole vocabulary. Two places in such a count are alike when both
/// have at least `horizon` repetitions of a unit that consumes a character ahead of them: no
/// token can reach the point where they differ.
struct GrammarEquivalence {
    /// The representative of each position (itself for most).
    let canonical: [Int32]

    init(_ grammar: Grammar, horizon: Int) {
        let elements = grammar.elements
        let ruleCount = grammar.ruleStart.count
        var canonical = (0..<elements.count).map { Int32($0) }
        // Alternatives of each rule, as element index ranges (without their alt/end).
        var alternatives = [[Range<Int>]](repeating: [], count: ruleCount)
        for r in 0..<ruleCount {
            var start = Int(grammar.ruleStart[r])
            var p = start
            while p < elements.count {
                if elements[p].endsSequence {
                    alternatives[r].append(start..<p)
                    if elements[p].kind == .end { break }
                    start = p + 1
                }
                p += 1
            }
        }
        // Rules that can match the empty string.
        var nullable = [Bool](repeating: false, count: ruleCount)
        var changed = true
        while changed {
            changed = false
            for r in 0..<ruleCount where !nullable[r] {
                if alternatives[r].contains(where: { alt in
                    alt.allSatisfy { elements[$0].kind == .ruleRef && Int(elements[$0].value) < ruleCount && nullable[Int(elements[$0].value)] }
                }) {
                    nullable[r] = true
                    changed = true
                }
            }
        }
        // Units: a rule reference or a whole character class; `consumes` when it cannot be empty.
        func units(_ range: Range<Int>) -> [(start: Int, end: Int, consumes: Bool)] {
            var out: [(Int, Int, Bool)] = []
            var p = range.lowerBound
            while p < range.upperBound {
                let e = elements[p]
                if e.isCharHead {
                    var q = p + 1
                    while q < range.upperBound && (elements[q].kind == .charRangeUpper || elements[q].kind == .charAlt) { q += 1 }
                    out.append((p, q, true))
                    p = q
                } else {
                    let consumes = e.kind == .ruleRef && Int(e.value) < ruleCount && !nullable[Int(e.value)]
                    out.append((p, p + 1, consumes))
                    p += 1
                }
            }
            return out
        }
        func same(_ a: (start: Int, end: Int, consumes: Bool), _ b: (start: Int, end: Int, consumes: Bool)) -> Bool {
            a.end - a.start == b.end - b.start && elements[a.start..<a.end] == elements[b.start..<b.end]
        }
        // Chains of generated rules: `r ::= U next | ` (or `r ::= U | ` at the end).
        var link = [(unitsRange: Range<Int>, next: Int?)?](repeating: nil, count: ruleCount)
        for r in 0..<ruleCount {
            let alts = alternatives[r]
            guard alts.count == 2, alts[1].isEmpty, !alts[0].isEmpty else { continue }
            let body = alts[0]
            let last = elements[body.upperBound - 1]
            if last.kind == .ruleRef && Int(last.value) < ruleCount && Int(last.value) != r && body.count > 1 {
                link[r] = (body.lowerBound..<body.upperBound - 1, Int(last.value))
            } else {
                link[r] = (body, nil)
            }
        }
        func sameUnits(_ a: Range<Int>, _ b: Range<Int>) -> Bool { elements[a] == elements[b] }
        var remaining = [Int](repeating: 0, count: ruleCount)
        var innermost = [Int](repeating: -1, count: ruleCount)
        func measure(_ r: Int, _ depth: Int) -> Int {
            if remaining[r] != 0 { return remaining[r] }
            guard depth < 100_000, let l = link[r], units(l.unitsRange).contains(where: \.consumes) else {
                remaining[r] = -1
                return -1
            }
            guard let next = l.next else {
                remaining[r] = 1
                innermost[r] = r
                return 1
            }
            guard let nl = link[next], sameUnits(l.unitsRange, nl.unitsRange) else {
                remaining[r] = -1
                return -1
            }
            let n = measure(next, depth + 1)
            remaining[r] = n < 0 ? -1 : n + 1
            innermost[r] = n < 0 ? -1 : innermost[next]
            return remaining[r]
        }
        var outermost: [Int: Int] = [:]
        for r in 0..<ruleCount where measure(r, 0) >= horizon {
            let chain = innermost[r]
            if let o = outermost[chain], remaining[o] >= remaining[r] { continue }
            outermost[chain] = r
        }
        for r in 0..<ruleCount where remaining[r] >= horizon {
            guard let o = outermost[innermost[r]], o != r else { continue }
            let from = Int(grammar.ruleStart[r]), to = Int(grammar.ruleStart[o])
            let length = alternatives[r].last.map { $0.upperBound - from + 1 } ?? 0
            for k in 0..<length { canonical[from + k] = Int32(to + k) }
        }
        // Runs of one unit repeated inside an alternative: `x{n}`.
        for r in 0..<ruleCount {
            for alt in alternatives[r] {
                let list = units(alt)
                var i = 0
                while i < list.count {
                    var j = i + 1
                    while j < list.count && list[i].consumes && same(list[i], list[j]) { j += 1 }
                    for k in i..<j where j - k >= horizon {
                        canonical[list[k].start] = canonical[list[i].start]
                    }
                    i = j
                }
            }
        }
        self.canonical = canonical
    }

    /// A stack top with each position replaced by its representative.
    func map(_ top: [Int32]) -> [Int32] { top.map { canonical[Int($0)] } }
}
