/// Where one generation is in its grammar: the automaton state (a set of llama.cpp stacks) and
/// a character left unfinished by the last token. Ask for the `mask`, then `accept` the token
/// chosen.
public struct GrammarMatcher: Sendable {
    public let constraint: GrammarConstraint
    private var stacks: GrammarAutomaton.StackSet
    private var state: Int32 = 0
    private var epoch = -1
    private var partialValue: UInt32 = 0
    private var partialRemain: Int8 = 0

    init(_ constraint: GrammarConstraint) {
        self.constraint = constraint
        stacks = constraint.automaton.initialStacks
    }

    /// The tokens allowed next (end-of-generation tokens only where the grammar can end).
    public mutating func mask() -> TokenMask {
        constraint.mask(state: &state, stacks: stacks, epoch: &epoch, partialValue: partialValue, partialRemain: partialRemain)
    }

    /// The mask by one walk of the whole trie from this state (no per-position parts, no cache):
    /// the reference `mask()` is tested against.
    mutating func referenceMask() -> TokenMask {
        let automaton = constraint.automaton
        return automaton.locked {
            automaton.makeRoom()
            if epoch != automaton.epoch {
                state = automaton.stateID(stacks)
                epoch = automaton.epoch
            }
            return constraint.fullMask(state, partialValue: partialValue, partialRemain: partialRemain)
        }
    }

    /// True when the text so far is a complete sentence of the grammar (it may go on).
    public var isComplete: Bool { stacks.contains { $0.isEmpty } }

    /// Whether `token` may come next, without moving.
    public mutating func allows(_ token: Int) -> Bool {
        var copy = self
        return copy.accept(token)
    }

    /// Moves past `token`; false (and no move) when the grammar does not allow it.
    @discardableResult
    public mutating func accept(_ token: Int) -> Bool {
        let vocabulary = constraint.vocabulary
        if vocabulary.endOfGeneration.contains(token) { return isComplete }
        guard vocabulary.pieces.indices.contains(token) else { return false }
        let automaton = constraint.automaton
        let piece = vocabulary.pieces[token]
        let result: (Int32, GrammarConstraint.Decoder, GrammarAutomaton.StackSet)? = automaton.locked {
            automaton.makeRoom()
            if epoch != automaton.epoch {
                state = automaton.stateID(stacks)
                epoch = automaton.epoch
            }
            guard let (next, dec) = constraint.run(piece, from: state, partialValue: partialValue, partialRemain: partialRemain) else { return nil }
            return (next, dec, automaton.stacks(of: next))
        }
        guard let (next, dec, nextStacks) = result else { return false }
        state = next
        stacks = nextStacks
        partialValue = dec.remain == 0 ? 0 : dec.value
        partialRemain = dec.remain
        return true
    }

    /// Moves past the bytes of a text (for tests and forcing known output): false at the first
    /// rejected character.
    public mutating func accept(text: String) -> Bool {
        let automaton = constraint.automaton
        return automaton.locked {
            automaton.makeRoom()
            if epoch != automaton.epoch {
                state = automaton.stateID(stacks)
                epoch = automaton.epoch
            }
            for c in text.unicodeScalars {
                let next = automaton.transition(state, c.value)
                if next < 0 { return false }
                state = next
            }
            stacks = automaton.stacks(of: state)
            return true
        }
    }
}
