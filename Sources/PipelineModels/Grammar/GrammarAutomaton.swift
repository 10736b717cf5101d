import Foundation

/// Runs a `Grammar` over code points with llama.cpp's pushdown semantics (a set of stacks of
/// grammar positions, each stack's top a character class), memoised as a lazily built DFA:
/// every distinct stack set met becomes a state with an id, and each (state, code point)
/// step is computed once and then looked up. Steps inside a JSON string or a number are the
/// same few transitions over and over, so after warm-up a step is one dictionary read.
///
/// Thread-safe: node copies running the same grammar share one automaton. Memory is bounded:
/// past `maxStates` states or `maxTransitions` steps the tables are dropped and rebuilt
/// (`epoch` changes; matchers hold their stack sets and re-enter).
public final class GrammarAutomaton: @unchecked Sendable {
    public typealias Stack = [Int32]
    public typealias StackSet = [Stack]

    public let grammar: Grammar
    let elements: [GrammarElement]
    private let lock = NSLock()
    private var states: [StackSet] = []
    private var stateIndex: [StackSet: Int32] = [:]
    private var acceptingFlags: [Bool] = []
    private var transitions: [Int64: Int32] = [:]
    /// ASCII steps by state, 128 per state (-2: not computed yet): the common case without hashing.
    private var asciiTransitions: [Int32] = []
    private(set) var epoch = 0
    let maxStates: Int
    let maxTransitions: Int
    /// The state before any input.
    public let initialStacks: StackSet

    public init(_ grammar: Grammar, maxStates: Int = 50_000, maxTransitions: Int = 4_000_000) throws {
        if grammar.usesTokens {
            throw GrammarError.unsupported("token references (<[id]>, <text>) are parsed but not run by this engine")
        }
        self.grammar = grammar
        elements = grammar.elements
        self.maxStates = maxStates
        self.maxTransitions = maxTransitions
        var stacks: StackSet = []
        var pos = Int(grammar.ruleStart[grammar.root])
        let elements = grammar.elements
        while true {
            let stack: Stack = elements[pos].endsSequence ? [] : [Int32(pos)]
            Self.advance(elements, grammar.ruleStart, stack, into: &stacks)
            while !elements[pos].endsSequence { pos += 1 }
            if elements[pos].kind == .alt { pos += 1 } else { break }
        }
        initialStacks = Self.canonical(stacks)
    }

    // MARK: - llama.cpp's stack operations

    /// llama_grammar_advance_stack: expands rule references at the top of `stack` until every
    /// resulting stack is empty or has a character class on top; adds them to `out`.
    static func advance(_ elements: [GrammarElement], _ ruleStart: [Int32], _ stack: Stack, into out: inout StackSet) {
        var todo: [Stack] = [stack]
        var seen = Set<Stack>()
        while let current = todo.popLast() {
            guard seen.insert(current).inserted else { continue }
            guard let top = current.last else {
                if !out.contains(current) { out.append(current) }
                continue
            }
            let e = elements[Int(top)]
            switch e.kind {
            case .ruleRef:
                var sub = Int(ruleStart[Int(e.value)])
                while true {
                    var next = Stack(current.dropLast())
                    if !elements[Int(top) + 1].endsSequence { next.append(top + 1) }
                    if !elements[sub].endsSequence { next.append(Int32(sub)) }
                    todo.append(next)
                    while !elements[sub].endsSequence { sub += 1 }
                    if elements[sub].kind == .alt { sub += 1 } else { break }
                }
            case .char, .charNot, .charAny, .token, .tokenNot:
                if !out.contains(current) { out.append(current) }
            default:
                break  // never on top of a stack
            }
        }
    }

    /// llama_grammar_match_char: whether `c` satisfies the class at `pos`, and where the class ends.
    @inline(__always)
    static func matchChar(_ elements: [GrammarElement], _ start: Int, _ c: UInt32) -> (Bool, Int) {
        var pos = start
        var found = false
        let positive = elements[pos].kind == .char || elements[pos].kind == .charAny
        repeat {
            if elements[pos + 1].kind == .charRangeUpper {
                found = found || (elements[pos].value <= c && c <= elements[pos + 1].value)
                pos += 2
            } else if elements[pos].kind == .charAny {
                found = true
                pos += 1
            } else {
                found = found || elements[pos].value == c
                pos += 1
            }
        } while elements[pos].kind == .charAlt
        return (found == positive, pos)
    }

    /// llama_grammar_match_partial_char: whether some completion of a partial UTF-8 sequence
    /// (`value` so far, `remain` bytes to come) could satisfy the class at `pos`.
    static func matchPartial(_ elements: [GrammarElement], _ start: Int, value: UInt32, remain: Int) -> Bool {
        var pos = start
        let positive = elements[pos].kind == .char || elements[pos].kind == .charAny
        if remain < 0 || (remain == 1 && value < 2) { return false }
        var low = value << UInt32(remain * 6)
        let high = low | ((1 << UInt32(remain * 6)) - 1)
        if low == 0 {
            if remain == 2 { low = 1 << 11 } else if remain == 3 { low = 1 << 16 }
        }
        repeat {
            if elements[pos + 1].kind == .charRangeUpper {
                if elements[pos].value <= high && low <= elements[pos + 1].value { return positive }
                pos += 2
            } else if elements[pos].kind == .charAny {
                return true
            } else {
                if low <= elements[pos].value && elements[pos].value <= high { return positive }
                pos += 1
            }
        } while elements[pos].kind == .charAlt
        return !positive
    }

    static func canonical(_ set: StackSet) -> StackSet {
        var s = set
        s.sort { a, b in a.lexicographicallyPrecedes(b) }
        var out: StackSet = []
        out.reserveCapacity(s.count)
        for x in s where out.last != x { out.append(x) }
        return out
    }

    /// The stacks after code point `c` from `stacks` (llama_grammar_accept), canonical.
    func step(_ stacks: StackSet, _ c: UInt32) -> StackSet {
        var out: StackSet = []
        for stack in stacks {
            guard let top = stack.last else { continue }
            let kind = elements[Int(top)].kind
            if kind == .token || kind == .tokenNot { continue }
            let (ok, next) = Self.matchChar(elements, Int(top), c)
            guard ok else { continue }
            var newStack = Stack(stack.dropLast())
            if !elements[next].endsSequence { newStack.append(Int32(next)) }
            Self.advance(elements, grammar.ruleStart, newStack, into: &out)
        }
        return Self.canonical(out)
    }

    // MARK: - The memoised DFA (call with the lock held)

    /// Runs `body` holding the automaton's lock.
    func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// Drops the tables when they are full (lock held). Called before each operation only, so
    /// ids stay valid during one: a single mask walk adds at most one step per trie node.
    func makeRoom() {
        if states.count >= maxStates || transitions.count >= maxTransitions { reset() }
    }

    /// The id of a stack set (lock held).
    func stateID(_ set: StackSet) -> Int32 {
        if let id = stateIndex[set] { return id }
        let id = Int32(states.count)
        states.append(set)
        stateIndex[set] = id
        acceptingFlags.append(set.contains { $0.isEmpty })
        asciiTransitions.append(contentsOf: repeatElement(-2, count: 128))
        return id
    }

    private func reset() {
        states.removeAll(keepingCapacity: true)
        stateIndex.removeAll(keepingCapacity: true)
        acceptingFlags.removeAll(keepingCapacity: true)
        transitions.removeAll(keepingCapacity: true)
        asciiTransitions.removeAll(keepingCapacity: true)
        epoch += 1
    }

    /// The state after code point `c` from state `id`, or -1 when no stack accepts it (lock held).
    @inline(__always)
    func transition(_ id: Int32, _ c: UInt32) -> Int32 {
        if c < 128 {
            let slot = Int(id) &* 128 &+ Int(c)
            let known = asciiTransitions[slot]
            if known != -2 { return known }
            let set = step(states[Int(id)], c)
            let next = set.isEmpty ? -1 : stateID(set)
            asciiTransitions[slot] = next
            return next
        }
        // Beyond ASCII the next state depends only on which stacks' top classes take `c` (the
        // stacks that do all move past their class, whatever `c` is): one entry per (state,
        // stacks matched) instead of one per code point, which matters for vocabularies with
        // tens of thousands of distinct characters.
        let stacks = states[Int(id)]
        var key: Int64
        if stacks.count <= 31 {
            var matched: Int64 = 0
            for (i, stack) in stacks.enumerated() {
                guard let top = stack.last else { continue }
                let kind = elements[Int(top)].kind
                if kind == .token || kind == .tokenNot { continue }
                if Self.matchChar(elements, Int(top), c).0 { matched |= 1 << i }
            }
            if matched == 0 { return -1 }
            key = Int64(id) << 32 | Int64(1) << 31 | matched
        } else {
            key = Int64(id) << 32 | Int64(c)
        }
        if let next = transitions[key] { return next }
        let set = step(stacks, c)
        if set.isEmpty {
            transitions[key] = -1
            return -1
        }
        let next = stateID(set)
        transitions[key] = next
        return next
    }

    func stacks(of id: Int32) -> StackSet { states[Int(id)] }
    func isAccepting(_ id: Int32) -> Bool { acceptingFlags[Int(id)] }
    var stateCount: Int { states.count }

    /// Whether some stack of state `id` could continue a partial UTF-8 character (lock held).
    func acceptsPartial(_ id: Int32, value: UInt32, remain: Int) -> Bool {
        for stack in states[Int(id)] {
            guard let top = stack.last else { continue }
            let kind = elements[Int(top)].kind
            if kind == .token || kind == .tokenNot { continue }
            if Self.matchPartial(elements, Int(top), value: value, remain: remain) { return true }
        }
        return false
    }
}
