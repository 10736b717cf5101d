import Foundation

/// A grammar bound to a model's vocabulary: what generation needs to hold output to the grammar.
/// Compile once (before a run), share across items and node copies; each generation makes
/// its own `GrammarMatcher`.
///
/// Masks are cached per automaton state and pending partial character, so a state seen before
/// (the inside of a string, the start of a number, a separator) costs one lookup. A new state's
/// mask is put together from per-position parts (XGrammar's context-independent tokens): for
/// the grammar position on top of each of its stacks, one trie walk (done once per position,
/// whatever lies below it) finds the tokens accepted inside that position's rule and the few
/// whose fate depends on what lies below (they finish the rule and go on); only those are
/// checked against the whole state.
public final class GrammarConstraint: @unchecked Sendable {
    public let automaton: GrammarAutomaton
    public let vocabulary: GrammarVocabulary
    /// How the constraint was written, for messages and records.
    public let label: String
    private var masks: [MaskKey: TokenMask] = [:]
    /// Per grammar position: tokens accepted whatever lies below it on the stack, and tokens
    /// that need the whole stack to decide.
    private var positionMasks: [[Int32]: (sure: TokenMask, uncertain: [Int32])] = [:]
    /// How many stack entries from the top key a part: enough to hold a string's or a number's
    /// own repetition frames (so only tokens leaving the value are uncertain), few enough that
    /// the same value at other depths and places shares the part.
    public let partDepth: Int
    /// Positions alike for a token's length (places in counted repetitions) share parts.
    let equivalence: GrammarEquivalence
    /// How many parts were computed when the constraint was made, and how long that took.
    public private(set) var precomputedParts = 0
    public private(set) var precomputeSeconds = 0.0
    /// Trie walks made for parts (precomputed ones included) and for whole states.
    public private(set) var partWalks = 0
    public private(set) var stateWalks = 0
    public private(set) var uncertainChecks = 0
    private var positionBytes = 0
    private var maskBytes = 0
    /// Cached masks are dropped past this many bytes.
    public let maskCacheBytes: Int

    struct MaskKey: Hashable {
        var epoch: Int
        var state: Int32
        var partialValue: UInt32
        var partialRemain: Int8
    }

    /// - Parameters:
    ///   - precompute: compute the parts of every stack top the grammar's structure can produce
    ///     now (XGrammar does the same at compile time), so decoding pays no trie walk for them;
    ///     bounded by `precomputeParts` and half of `maskCacheBytes`. Parts not found now are
    ///     computed on first use, as without it. Masks are the same either way.
    public init(grammar: Grammar, vocabulary: GrammarVocabulary, label: String = "grammar",
                maskCacheBytes: Int = 64 << 20, partDepth: Int = 3, precompute: Bool = true,
                precomputeParts: Int = 4096) throws {
        automaton = try GrammarAutomaton(grammar)
        self.vocabulary = vocabulary
        self.label = label
        self.maskCacheBytes = maskCacheBytes
        self.partDepth = max(1, partDepth)
        equivalence = GrammarEquivalence(grammar, horizon: vocabulary.maxDepth + 1)
        if precompute {
            let start = DispatchTime.now().uptimeNanoseconds
            var seen = Set<[Int32]>()
            let tops = GrammarStackTops.enumerate(grammar, depth: self.partDepth, limit: precomputeParts)
                .map(equivalence.map).filter { seen.insert($0).inserted }
            automaton.locked {
                for top in tops where positionBytes < maskCacheBytes / 2 {
                    _ = positionMask(top)
                    precomputedParts += 1
                }
            }
            precomputeSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
    }

    public func makeMatcher() -> GrammarMatcher { GrammarMatcher(self) }

    // MARK: - Decoding token bytes (llama.cpp's decode_utf8, one byte at a time)

    /// A partial UTF-8 character: the bits so far and how many bytes are still to come
    /// (`continuing`: these continue a character begun by an earlier token, where llama.cpp
    /// checks that each byte is a continuation byte).
    struct Decoder {
        var value: UInt32 = 0
        var remain: Int8 = 0
        var continuing = false

        /// Feeds one byte: nil when the bytes are invalid, else the completed code point or -1.
        @inline(__always)
        mutating func push(_ b: UInt8) -> Int64? {
            if continuing {
                if b >> 6 != 2 { return nil }
                value = (value << 6) + UInt32(b & 0x3F)
                remain -= 1
                if remain == 0 {
                    continuing = false
                    return Int64(value)
                }
                return -1
            }
            if remain == 0 {
                let n: Int8
                switch b >> 4 {
                case 0...7: n = 0
                case 8...11: return nil
                case 12, 13: n = 1
                case 14: n = 2
                default: n = 3
                }
                value = UInt32(b & UInt8((1 << (7 - Int(n))) - 1))
                remain = n
                return n == 0 ? Int64(value) : -1
            }
            value = (value << 6) + UInt32(b & 0x3F)
            remain -= 1
            return remain == 0 ? Int64(value) : -1
        }
    }

    // MARK: - Masks (called by GrammarMatcher)

    /// The mask for a state and pending partial character: cached, else one trie walk.
    func mask(state: inout Int32, stacks: GrammarAutomaton.StackSet, epoch: inout Int,
              partialValue: UInt32, partialRemain: Int8) -> TokenMask {
        automaton.locked {
            automaton.makeRoom()
            if epoch != automaton.epoch {
                state = automaton.stateID(stacks)
                epoch = automaton.epoch
            }
            let key = MaskKey(epoch: epoch, state: state, partialValue: partialRemain == 0 ? 0 : partialValue, partialRemain: partialRemain)
            if let m = masks[key] { return m }
            let m = partialRemain == 0 ? composed(state) : walk(state, partialValue: partialValue, partialRemain: partialRemain)
            let size = m.bits.count * 8 + 64
            if maskBytes + size > maskCacheBytes {
                masks.removeAll(keepingCapacity: true)
                maskBytes = 0
            }
            masks[key] = m
            maskBytes += size
            return m
        }
    }

    /// The mask of a state with no pending partial character, from its stacks' top positions
    /// (lock held).
    private func composed(_ state: Int32) -> TokenMask {
        var mask = TokenMask(count: vocabulary.count)
        var uncertain: [Int32] = []
        var tops = Set<[Int32]>()
        for stack in automaton.stacks(of: state) where !stack.isEmpty {
            let top = equivalence.map(Array(stack.suffix(partDepth)))
            guard tops.insert(top).inserted else { continue }
            let part = positionMask(top)
            mask.formUnion(part.sure)
            uncertain += part.uncertain
        }
        if automaton.isAccepting(state) {
            for t in vocabulary.endOfGeneration where t < vocabulary.count { mask.allow(t) }
        }
        uncertainChecks += uncertain.count
        for t in uncertain where !mask.allows(Int(t)) {
            if run(vocabulary.pieces[Int(t)], from: state, partialValue: 0, partialRemain: 0) != nil { mask.allow(Int(t)) }
        }
        return mask
    }

    /// One part (lock held): a trie walk from the stack's top entries alone.
    private func positionMask(_ position: [Int32]) -> (sure: TokenMask, uncertain: [Int32]) {
        if let part = positionMasks[position] { return part }
        partWalks += 1
        let start = automaton.stateID([position])
        let v = vocabulary
        var sure = TokenMask(count: v.count)
        var uncertain: [Int32] = []
        var states = [Int32](repeating: 0, count: v.maxDepth + 1)
        var decoders = [Decoder](repeating: Decoder(), count: v.maxDepth + 1)
        // Whether these top entries could have all ended somewhere along the path so far: past
        // that point, lower stack frames may take characters this walk rejects.
        var ended = [Bool](repeating: false, count: v.maxDepth + 1)
        states[0] = start
        func addSubtree(_ i: Int) {
            for j in i..<Int(v.subtreeEnd[i]) where v.tokenCount[j] > 0 {
                let first = Int(v.tokenFirst[j])
                for k in first..<first + Int(v.tokenCount[j]) { uncertain.append(v.sorted[k]) }
            }
        }
        let n = v.nodeByte.count
        var i = 0
        while i < n {
            let d = Int(v.nodeDepth[i])
            var dec = decoders[d]
            var state = states[d]
            var hasEnded = ended[d]
            guard let out = dec.push(v.nodeByte[i]) else {
                i = Int(v.subtreeEnd[i])  // invalid UTF-8: rejected in every context
                continue
            }
            if out >= 0 {
                state = automaton.transition(state, UInt32(out))
                if state < 0 {
                    if hasEnded { addSubtree(i) }
                    i = Int(v.subtreeEnd[i])
                    continue
                }
                if automaton.isAccepting(state) { hasEnded = true }
            }
            states[d + 1] = state
            decoders[d + 1] = dec
            ended[d + 1] = hasEnded
            let count = Int(v.tokenCount[i])
            if count > 0 {
                let ok = dec.remain == 0 || automaton.acceptsPartial(state, value: dec.value, remain: Int(dec.remain))
                let first = Int(v.tokenFirst[i])
                for k in first..<first + count {
                    if ok { sure.allow(Int(v.sorted[k])) } else if hasEnded { uncertain.append(v.sorted[k]) }
                }
            }
            i += 1
        }
        let size = sure.bits.count * 8 + uncertain.count * 4 + 64
        if positionBytes + size > maskCacheBytes {
            positionMasks.removeAll(keepingCapacity: true)
            positionBytes = 0
        }
        positionMasks[position] = (sure, uncertain)
        positionBytes += size
        return (sure, uncertain)
    }

    /// The mask by one walk of the whole trie from the state itself (lock held): used when a
    /// partial character is pending, and by tests as the reference for `composed`.
    func fullMask(_ start: Int32, partialValue: UInt32, partialRemain: Int8) -> TokenMask {
        walk(start, partialValue: partialValue, partialRemain: partialRemain)
    }

    /// One depth-first walk of the vocabulary trie against the automaton (lock held).
    private func walk(_ start: Int32, partialValue: UInt32, partialRemain: Int8) -> TokenMask {
        stateWalks += 1
        let v = vocabulary
        var mask = TokenMask(count: v.count)
        if automaton.isAccepting(start) {
            for t in v.endOfGeneration where t < v.count { mask.allow(t) }
        }
        var states = [Int32](repeating: 0, count: v.maxDepth + 1)
        var decoders = [Decoder](repeating: Decoder(), count: v.maxDepth + 1)
        states[0] = start
        decoders[0] = Decoder(value: partialValue, remain: partialRemain, continuing: partialRemain > 0)
        let n = v.nodeByte.count
        var i = 0
        v.nodeByte.withUnsafeBufferPointer { bytes in
            v.nodeDepth.withUnsafeBufferPointer { depths in
                while i < n {
                    let d = Int(depths[i])
                    var dec = decoders[d]
                    var state = states[d]
                    guard let out = dec.push(bytes[i]) else {
                        i = Int(v.subtreeEnd[i])
                        continue
                    }
                    if out >= 0 {
                        state = automaton.transition(state, UInt32(out))
                        if state < 0 {
                            i = Int(v.subtreeEnd[i])
                            continue
                        }
                    }
                    states[d + 1] = state
                    decoders[d + 1] = dec
                    let count = Int(v.tokenCount[i])
                    if count > 0
                        && (dec.remain == 0 || automaton.acceptsPartial(state, value: dec.value, remain: Int(dec.remain))) {
                        let first = Int(v.tokenFirst[i])
                        for k in first..<first + count { mask.allow(Int(v.sorted[k])) }
                    }
                    i += 1
                }
            }
        }
        return mask
    }

    /// Runs a token's bytes from a state (lock held): the new state and partial character, or
    /// nil when the grammar rejects the token (llama.cpp's rule, the same as the mask's).
    func run(_ piece: [UInt8], from start: Int32, partialValue: UInt32, partialRemain: Int8) -> (Int32, Decoder)? {
        guard !piece.isEmpty else { return nil }
        var dec = Decoder(value: partialValue, remain: partialRemain, continuing: partialRemain > 0)
        var state = start
        for b in piece {
            guard let out = dec.push(b) else { return nil }
            if out >= 0 {
                state = automaton.transition(state, UInt32(out))
                if state < 0 { return nil }
            }
        }
        if dec.remain != 0 && !automaton.acceptsPartial(state, value: dec.value, remain: Int(dec.remain)) { return nil }
        return (state, dec)
    }
}
