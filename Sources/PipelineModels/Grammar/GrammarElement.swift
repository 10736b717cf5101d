/// One element of a compiled grammar rule, as llama.cpp lays rules out (`llama_grammar_element`):
/// a rule is a flat list of elements, alternatives separated by `alt`, closed by `end`; a
/// character class is a `char`/`charNot` head followed by `charRangeUpper` and `charAlt` parts.
public struct GrammarElement: Sendable, Hashable {
    public enum Kind: UInt8, Sendable {
        /// End of a rule definition.
        case end
        /// Start of another alternative of the same rule.
        case alt
        /// A reference to the rule `value`.
        case ruleRef
        /// A character (code point `value`), or the first of a class.
        case char
        /// The first code point of a negated class `[^...]`.
        case charNot
        /// Makes the preceding `char`/`charAlt` the lower end of the range up to `value`.
        case charRangeUpper
        /// Another code point in a class.
        case charAlt
        /// `.`: any code point.
        case charAny
        /// A token given by id, `<[id]>` or `<text>`.
        case token
        /// Any token but this one, `!<[id]>`.
        case tokenNot
    }

    public var kind: Kind
    public var value: UInt32

    public init(_ kind: Kind, _ value: UInt32 = 0) {
        self.kind = kind
        self.value = value
    }

    /// True at the end of an alternative (`alt` or `end`).
    var endsSequence: Bool { kind == .end || kind == .alt }
    /// True for the head of a character class.
    var isCharHead: Bool { kind == .char || kind == .charNot || kind == .charAny }
}
