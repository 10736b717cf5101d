/// A compiled GBNF grammar: llama.cpp's rules laid end to end in one element array, so a
/// position in the grammar is one integer (an index into `elements`).
///
/// Parsing follows llama.cpp exactly (see `GBNFParser`), so the same text gives the same rules
/// and the same language; matching runs on `GrammarAutomaton`.
public struct Grammar: Sendable {
    /// Every rule's elements, rule after rule, each closed by an `end` element.
    public let elements: [GrammarElement]
    /// Where each rule starts in `elements`, by rule id.
    public let ruleStart: [Int32]
    /// Rule names by id (generated rules are `name_N`, as in llama.cpp).
    public let ruleNames: [String]
    /// The id of `root`.
    public let root: Int
    /// The source text.
    public let source: String

    /// Parses GBNF. `tokenLookup` turns `<text>` token references into ids (a model's tokenizer);
    /// without it only `<[id]>` references parse.
    public init(gbnf text: String, tokenLookup: ((String) -> [Int])? = nil) throws {
        var parser = GBNFParser(text, tokenLookup: tokenLookup)
        try parser.parse()
        guard let root = parser.symbolIDs["root"] else { throw GrammarError.noRoot }
        let rules = parser.rules
        var elements: [GrammarElement] = []
        var starts: [Int32] = []
        for rule in rules {
            starts.append(Int32(elements.count))
            elements += rule
        }
        self.elements = elements
        ruleStart = starts
        ruleNames = parser.symbolOrder
        self.root = Int(root)
        source = text
        if let rule = Self.leftRecursiveRule(rules) { throw GrammarError.leftRecursion(rule: ruleNames[rule]) }
    }

    /// True when some rule uses token references (`<[id]>`, `!<...>`).
    public var usesTokens: Bool { elements.contains { $0.kind == .token || $0.kind == .tokenNot } }

    /// llama.cpp's llama_grammar_detect_left_recursion over all rules: the first rule that can
    /// reach itself without consuming a character.
    static func leftRecursiveRule(_ rules: [[GrammarElement]]) -> Int? {
        var visited = [Bool](repeating: false, count: rules.count)
        var inProgress = visited
        var mayBeEmpty = visited
        func detect(_ index: Int) -> Bool {
            if inProgress[index] { return true }
            inProgress[index] = true
            let rule = rules[index]
            var atStart = true
            for e in rule {
                if e.endsSequence {
                    if atStart {
                        mayBeEmpty[index] = true
                        break
                    }
                    atStart = true
                } else {
                    atStart = false
                }
            }
            var recurse = true
            for e in rule {
                if e.kind == .ruleRef && recurse {
                    if detect(Int(e.value)) { return true }
                    if !mayBeEmpty[Int(e.value)] { recurse = false }
                } else if e.endsSequence {
                    recurse = true
                } else {
                    recurse = false
                }
            }
            inProgress[index] = false
            visited[index] = true
            return false
        }
        for i in rules.indices where !visited[i] {
            if detect(i) { return i }
        }
        return nil
    }

    /// The grammar printed back in GBNF, one rule per line, as llama.cpp's print does.
    public var printed: String {
        var out = ""
        func char(_ c: UInt32) -> String {
            if c >= 0x20 && c <= 0x7E && c != 0x22 && c != 0x5C && c != 0x5D && c != 0x5B && c != 0x2D {
                return String(UnicodeScalar(UInt8(c)))
            }
            return c <= 0xFF ? "\\x" + String(c, radix: 16, uppercase: true).leftPadded(2)
                : "\\U" + String(c, radix: 16, uppercase: true).leftPadded(8)
        }
        for (id, name) in ruleNames.enumerated() {
            out += name + " ::= "
            var i = Int(ruleStart[id])
            while elements[i].kind != .end {
                let e = elements[i]
                switch e.kind {
                case .alt: out += "| "
                case .ruleRef: out += ruleNames[Int(e.value)] + " "
                case .char:
                    out += "[" + char(e.value)
                case .charNot: out += "[^" + char(e.value)
                case .charRangeUpper: out += "-" + char(e.value)
                case .charAlt: out += char(e.value)
                case .charAny: out += ". "
                case .token: out += "<[\(e.value)]> "
                case .tokenNot: out += "!<[\(e.value)]> "
                case .end: break
                }
                if e.kind == .char || e.kind == .charNot || e.kind == .charRangeUpper || e.kind == .charAlt {
                    let next = elements[i + 1].kind
                    if next != .charAlt && next != .charRangeUpper { out += "] " }
                }
                i += 1
            }
            out += "\n"
        }
        return out
    }
}

extension String {
    fileprivate func leftPadded(_ n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
