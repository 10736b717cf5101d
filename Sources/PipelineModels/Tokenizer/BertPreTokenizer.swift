/// BERT's pre-tokenizer: splits normalized text on whitespace (dropped) and around every
/// punctuation character (kept as a word of its own). Punctuation is ASCII punctuation (which
/// includes `$+<=>^`|~`) or any Unicode P* category, as in `tokenizers`' `BertPreTokenizer`.
public struct BertPreTokenizer: Sendable {
    public init() {}

    /// The words of `scalars`, each a run of scalars.
    public func split(_ scalars: [Unicode.Scalar]) -> [ArraySlice<Unicode.Scalar>] {
        var words: [ArraySlice<Unicode.Scalar>] = []
        var start = 0
        for (i, scalar) in scalars.enumerated() {
            if BertNormalizer.isWhitespace(scalar) {
                if start < i { words.append(scalars[start..<i]) }
                start = i + 1
            } else if Self.isPunctuation(scalar) {
                if start < i { words.append(scalars[start..<i]) }
                words.append(scalars[i..<i + 1])
                start = i + 1
            }
        }
        if start < scalars.count { words.append(scalars[start...]) }
        return words
    }

    static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            let v = scalar.value
            return (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v)
        }
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
            .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }
}
