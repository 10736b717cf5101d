/// Splits text into the pieces BPE runs on, as llama.cpp's pre-tokenizers do.
///
/// `gpt2` is GPT-2's pattern: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
/// `smollm` (also StarCoder's and others') first cuts every digit out on its own (`\p{N}`),
/// then applies the GPT-2 pattern inside each fragment, so look-ahead never crosses a cut.
public enum PreTokenizer: String, Sendable {
    case gpt2
    case smollm

    public func split(_ text: Substring) -> [Substring] {
        switch self {
        case .gpt2:
            return Self.gpt2(text)
        case .smollm:
            return Self.digitFragments(text).flatMap { Self.gpt2($0) }
        }
    }

    static func isLetter(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    static func isNumber(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    static func isSpace(_ s: Unicode.Scalar) -> Bool { s.properties.isWhitespace }

    /// `\p{N}` matches and the text between them, in order.
    static func digitFragments(_ text: Substring) -> [Substring] {
        var pieces: [Substring] = []
        let scalars = text.unicodeScalars
        var start = scalars.startIndex
        var i = scalars.startIndex
        while i < scalars.endIndex {
            if isNumber(scalars[i]) {
                if start < i { pieces.append(Substring(scalars[start..<i])) }
                let next = scalars.index(after: i)
                pieces.append(Substring(scalars[i..<next]))
                start = next
            }
            i = scalars.index(after: i)
        }
        if start < scalars.endIndex { pieces.append(Substring(scalars[start...])) }
        return pieces
    }

    /// GPT-2's pattern over one fragment, by hand (as llama.cpp's custom splitter does).
    static func gpt2(_ text: Substring) -> [Substring] {
        let s = Array(text.unicodeScalars)
        var pieces: [Substring] = []
        var indices: [String.UnicodeScalarView.Index] = []
        var idx = text.unicodeScalars.startIndex
        for _ in s {
            indices.append(idx)
            idx = text.unicodeScalars.index(after: idx)
        }
        indices.append(text.unicodeScalars.endIndex)
        func piece(_ a: Int, _ b: Int) { pieces.append(Substring(text.unicodeScalars[indices[a]..<indices[b]])) }
        let n = s.count
        var pos = 0
        while pos < n {
            let c = s[pos]
            // Contractions.
            if c == "'" && pos + 1 < n {
                let c1 = s[pos + 1]
                if ["s", "t", "m", "d"].contains(c1) {
                    piece(pos, pos + 2)
                    pos += 2
                    continue
                }
                if pos + 2 < n {
                    let c2 = s[pos + 2]
                    if (c1 == "r" && c2 == "e") || (c1 == "v" && c2 == "e") || (c1 == "l" && c2 == "l") {
                        piece(pos, pos + 3)
                        pos += 3
                        continue
                    }
                }
            }
            // An optional single space, then letters / numbers / other symbols.
            let lead = c == " " && pos + 1 < n ? 1 : 0
            let first = s[pos + lead]
            if lead == 1 || !isSpace(c) {
                var end = pos + lead
                if isLetter(first) {
                    while end < n && isLetter(s[end]) { end += 1 }
                } else if isNumber(first) {
                    while end < n && isNumber(s[end]) { end += 1 }
                } else if !isSpace(first) {
                    while end < n && !isSpace(s[end]) && !isLetter(s[end]) && !isNumber(s[end]) { end += 1 }
                }
                if end > pos + lead {
                    piece(pos, end)
                    pos = end
                    continue
                }
            }
            // Whitespace: a run, leaving its last character to the next word when one follows.
            var end = pos
            while end < n && isSpace(s[end]) { end += 1 }
            if end > pos {
                if end - pos > 1 && end < n {
                    end -= 1
                }
                piece(pos, end)
                pos = end
                continue
            }
            piece(pos, pos + 1)
            pos += 1
        }
        return pieces
    }
}
