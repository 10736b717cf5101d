/// Translates a JSON Schema `pattern` (an ECMA/Python regular expression, unanchored unless it
/// says ^...$) into GBNF over the JSON-encoded characters of a string: a `"` in the pattern
/// becomes `\"` in the text, a line break `\n`, and so on.
///
/// The subset: literals and escapes, `.`, classes `[...]` with ranges and negation, `\d \w \s`
/// (ASCII meanings) and their negations, groups `( )` `(?: )` `(?<name> )`, alternation,
/// `? * + {n} {n,} {n,m}` (lazy forms too), `^` at the start and `$` at the end of a branch.
/// Lookaround, backreferences, word boundaries and anchors elsewhere are refused.
struct RegexToGBNF {
    private let chars: [UnicodeScalar]
    private var i = 0
    private let pointer: String

    private init(_ pattern: String, pointer: String) {
        chars = Array(pattern.unicodeScalars)
        self.pointer = pointer
    }

    static func translate(_ pattern: String, pointer: String) throws(GrammarError) -> String {
        var p = RegexToGBNF(pattern, pointer: pointer)
        var branches: [String] = []
        while true {
            var anchoredStart = false
            if p.peek == "^" {
                anchoredStart = true
                p.i += 1
            }
            var body = try p.sequence(topLevel: true)
            var anchoredEnd = false
            if p.peek == "$" {
                anchoredEnd = true
                p.i += 1
            }
            if !anchoredStart { body = "jchar* " + body }
            if !anchoredEnd { body += " jchar*" }
            branches.append(body)
            if p.peek == "|" {
                p.i += 1
                continue
            }
            if p.i < p.chars.count { throw p.refuse("unexpected '\(p.chars[p.i])' at \(p.i + 1)") }
            break
        }
        return "(" + branches.joined(separator: " | ") + ")"
    }

    /// For a pattern `^A$`, `^A*$`, `^A+$`, `^A?$` or `^A{m,n}$` with one character atom A: the
    /// atom's GBNF and the count bounds, so length bounds can be intersected exactly.
    static func singleAtom(_ pattern: String, pointer: String) -> (atom: String, min: Int, max: Int?)? {
        var p = RegexToGBNF(pattern, pointer: pointer)
        guard p.peek == "^" else { return nil }
        p.i += 1
        guard let c = p.peek, c != "(", c != "|", c != ")" else { return nil }
        guard let atom = try? p.atom() else { return nil }
        var lo = 1, hi: Int? = 1
        if let q = p.peek {
            switch q {
            case "*": lo = 0; hi = nil; p.i += 1
            case "+": lo = 1; hi = nil; p.i += 1
            case "?": lo = 0; hi = 1; p.i += 1
            case "{":
                guard let (m, n, end) = p.braces(p.i) else { return nil }
                lo = m; hi = n; p.i = end
            default: break
            }
        }
        guard p.peek == "$", p.i + 1 == p.chars.count else { return nil }
        return (atom, lo, hi)
    }

    private var peek: UnicodeScalar? { i < chars.count ? chars[i] : nil }

    private func refuse(_ why: String) -> GrammarError {
        GrammarError.unsupportedKeyword("pattern", pointer: pointer + " (\(why))")
    }

    private mutating func alternation() throws(GrammarError) -> String {
        var alts = [try sequence(topLevel: false)]
        while peek == "|" {
            i += 1
            alts.append(try sequence(topLevel: false))
        }
        return alts.count == 1 ? alts[0] : "(" + alts.joined(separator: " | ") + ")"
    }

    private mutating func sequence(topLevel: Bool) throws(GrammarError) -> String {
        var items: [String] = []
        while let c = peek {
            if c == "|" || c == ")" { break }
            if c == "$" {
                if topLevel && (i + 1 == chars.count || chars[i + 1] == "|") { break }
                throw refuse("'$' before the end")
            }
            if c == "^" { throw refuse("'^' after the start") }
            var atom = try self.atom()
            // Quantifiers.
            if let q = peek, q == "*" || q == "+" || q == "?" || q == "{" {
                var suffix = ""
                if q == "{" {
                    guard let (m, n, end) = braces(i) else {
                        // A literal '{'.
                        items.append(atom)
                        continue
                    }
                    i = end
                    if let n, n < m { throw refuse("{\(m),\(n)}: the maximum is below the minimum") }
                    if m > 1000 || (n ?? 0) > 1000 { throw refuse("a repetition above 1000") }
                    suffix = n.map { $0 == m ? "{\(m)}" : "{\(m),\($0)}" } ?? "{\(m),}"
                } else {
                    i += 1
                    suffix = String(q)
                }
                if peek == "?" { i += 1 }  // lazy: the same language
                if peek == "+" { throw refuse("possessive quantifiers") }
                atom = "(" + atom + ")" + suffix
            }
            items.append(atom)
        }
        return items.isEmpty ? "\"\"" : items.joined(separator: " ")
    }

    private func braces(_ start: Int) -> (Int, Int?, Int)? {
        var j = start + 1
        func number(_ j: inout Int) -> Int? {
            var s = ""
            while j < chars.count, let d = Character(chars[j]).wholeNumberValue, chars[j].isASCII {
                s.append(Character(chars[j]))
                j += 1
                _ = d
            }
            return s.isEmpty ? nil : Int(s.prefix(9))
        }
        guard let m = number(&j) else { return nil }
        if j < chars.count && chars[j] == "}" { return (m, m, j + 1) }
        guard j < chars.count && chars[j] == "," else { return nil }
        j += 1
        let n = number(&j)
        guard j < chars.count && chars[j] == "}" else { return nil }
        return (m, n, j + 1)
    }

    private mutating func atom() throws(GrammarError) -> String {
        let c = chars[i]
        i += 1
        switch c {
        case "(":
            if peek == "?" {
                i += 1
                if peek == ":" {
                    i += 1
                } else if peek == "P" || (peek == "<" && i + 1 < chars.count && chars[i + 1] != "=" && chars[i + 1] != "!") {
                    if peek == "P" { i += 1 }
                    while let x = peek, x != ">" { i += 1 }
                    i += 1
                } else {
                    throw refuse("lookaround or inline flags '(?'")
                }
            }
            let inner = try alternation()
            guard peek == ")" else { throw refuse("unbalanced '('") }
            i += 1
            return "(" + inner + ")"
        case ")": throw refuse("unbalanced ')'")
        case ".": return Self.encode(CharSet(ranges: [(0, 0x10FFFF)]).subtracting([(0x0A, 0x0A)]))
        case "[": return Self.encode(try charClass())
        case "\\": return Self.encode(try escape(inClass: false))
        case "*", "+", "?": throw refuse("'\(c)' with nothing to repeat")
        default: return Self.encode(CharSet(ranges: [(c.value, c.value)]))
        }
    }

    private mutating func escape(inClass: Bool) throws(GrammarError) -> CharSet {
        guard let e = peek else { throw refuse("a trailing '\\'") }
        i += 1
        switch e {
        case "d": return CharSet(ranges: [(0x30, 0x39)])
        case "D": return CharSet(ranges: [(0x30, 0x39)]).complement
        case "w": return Self.word
        case "W": return Self.word.complement
        case "s": return Self.space
        case "S": return Self.space.complement
        case "n": return CharSet(ranges: [(0x0A, 0x0A)])
        case "t": return CharSet(ranges: [(0x09, 0x09)])
        case "r": return CharSet(ranges: [(0x0D, 0x0D)])
        case "f": return CharSet(ranges: [(0x0C, 0x0C)])
        case "v": return CharSet(ranges: [(0x0B, 0x0B)])
        case "x", "u":
            let size = e == "x" ? 2 : 4
            guard i + size <= chars.count, let v = UInt32(String(String.UnicodeScalarView(chars[i..<i + size])), radix: 16) else {
                throw refuse("a bad \\\(e) escape")
            }
            i += size
            return CharSet(ranges: [(v, v)])
        case "b" where inClass: return CharSet(ranges: [(0x08, 0x08)])
        default:
            if e.properties.isAlphabetic || ("0"..."9").contains(e) {
                throw refuse("the escape '\\\(e)'")
            }
            return CharSet(ranges: [(e.value, e.value)])
        }
    }

    private mutating func charClass() throws(GrammarError) -> CharSet {
        var negated = false
        if peek == "^" {
            negated = true
            i += 1
        }
        var set = CharSet(ranges: [])
        var first = true
        while true {
            guard let c = peek else { throw refuse("unterminated '['") }
            if c == "]" && !first { i += 1; break }
            first = false
            i += 1
            var low: CharSet
            if c == "\\" { low = try escape(inClass: true) } else if c == "[" && peek == ":" { throw refuse("POSIX classes") } else {
                low = CharSet(ranges: [(c.value, c.value)])
            }
            if peek == "-", i + 1 < chars.count, chars[i + 1] != "]", low.ranges.count == 1, low.ranges[0].0 == low.ranges[0].1 {
                i += 1
                let hc = chars[i]
                i += 1
                var high = CharSet(ranges: [(hc.value, hc.value)])
                if hc == "\\" { high = try escape(inClass: true) }
                guard high.ranges.count == 1, high.ranges[0].0 == high.ranges[0].1, high.ranges[0].0 >= low.ranges[0].0 else {
                    throw refuse("a bad range in a class")
                }
                low = CharSet(ranges: [(low.ranges[0].0, high.ranges[0].0)])
            }
            set = set.union(low)
        }
        return negated ? set.complement : set
    }

    static let word = CharSet(ranges: [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)])
    static let space = CharSet(ranges: [(0x09, 0x0D), (0x20, 0x20)])

    /// GBNF for one character of the set as it is written inside a JSON string.
    static func encode(_ set: CharSet) -> String {
        var alts: [String] = []
        let raw = set.subtracting([(0, 0x1F), (0x22, 0x22), (0x5C, 0x5C)])
        if !raw.ranges.isEmpty {
            alts.append("[" + raw.ranges.map { lo, hi in lo == hi ? hex(lo) : hex(lo) + "-" + hex(hi) }.joined() + "]")
        }
        let escapes: [(UInt32, String)] = [(0x22, "\\\\\\\""), (0x5C, "\\\\\\\\"), (0x0A, "\\\\n"), (0x09, "\\\\t"), (0x0D, "\\\\r"), (0x08, "\\\\b"), (0x0C, "\\\\f")]
        for (c, text) in escapes where set.contains(c) { alts.append("\"" + text + "\"") }
        for c in UInt32(0)...0x1F where set.contains(c) && ![0x0A, 0x09, 0x0D, 0x08, 0x0C].contains(c) {
            alts.append("\"\\\\u00" + String(c, radix: 16).leftPad(2) + "\"")
        }
        if alts.isEmpty { return "[^\\x00-\\U0010FFFF]" }  // matches nothing
        return alts.count == 1 ? alts[0] : "(" + alts.joined(separator: " | ") + ")"
    }

    static func hex(_ c: UInt32) -> String {
        if (0x30...0x39).contains(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c) { return String(UnicodeScalar(c)!) }
        return c <= 0xFFFF ? "\\u" + String(c, radix: 16).leftPad(4) : "\\U" + String(c, radix: 16).leftPad(8)
    }
}

/// A set of code points as sorted, disjoint, inclusive ranges.
struct CharSet {
    var ranges: [(UInt32, UInt32)]

    init(ranges: [(UInt32, UInt32)]) {
        var sorted = ranges.sorted { $0.0 < $1.0 }
        var out: [(UInt32, UInt32)] = []
        for r in sorted {
            if let last = out.last, r.0 <= last.1 &+ 1 {
                out[out.count - 1].1 = max(last.1, r.1)
            } else {
                out.append(r)
            }
        }
        sorted = out
        self.ranges = sorted
    }

    func contains(_ c: UInt32) -> Bool { ranges.contains { $0.0 <= c && c <= $0.1 } }
    func union(_ other: CharSet) -> CharSet { CharSet(ranges: ranges + other.ranges) }

    var complement: CharSet {
        var out: [(UInt32, UInt32)] = []
        var next: UInt32 = 0
        for (lo, hi) in ranges {
            if lo > next { out.append((next, lo - 1)) }
            next = hi + 1
        }
        if next <= 0x10FFFF { out.append((next, 0x10FFFF)) }
        return CharSet(ranges: out)
    }

    func subtracting(_ other: [(UInt32, UInt32)]) -> CharSet {
        let o = CharSet(ranges: other).complement
        // Intersection with the complement.
        var out: [(UInt32, UInt32)] = []
        for a in ranges {
            for b in o.ranges {
                let lo = max(a.0, b.0), hi = min(a.1, b.1)
                if lo <= hi { out.append((lo, hi)) }
            }
        }
        return CharSet(ranges: out)
    }
}
