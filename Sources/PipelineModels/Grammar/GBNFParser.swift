/// Parses GBNF, llama.cpp's grammar notation, the way llama.cpp's `llama_grammar_parser` does:
/// the same tokens, the same rewriting of `? * + {m,n}` into generated rules, the same rule
/// numbering (so a grammar prints and matches identically), with errors located by line and
/// column instead of "at <rest of the text>".
struct GBNFParser {
    /// llama.cpp's MAX_REPETITION_THRESHOLD.
    static let maxRepetitions: UInt64 = 2000

    private let src: [UInt8]  // the grammar's UTF-8 bytes and a terminating 0
    private(set) var symbolIDs: [String: UInt32] = [:]
    private(set) var symbolOrder: [String] = []
    private(set) var rules: [[GrammarElement]] = []
    /// Where each rule name was first used (byte offset), for undefined-rule errors.
    private var firstUse: [UInt32: Int] = [:]
    private let tokenLookup: ((String) -> [Int])?

    init(_ text: String, tokenLookup: ((String) -> [Int])? = nil) {
        src = Array(text.utf8) + [0]
        self.tokenLookup = tokenLookup
    }

    // MARK: - Errors

    private func location(_ offset: Int) -> (Int, Int) {
        var line = 1
        var lineStart = 0
        for i in 0..<min(offset, src.count - 1) where src[i] == UInt8(ascii: "\n") {
            line += 1
            lineStart = i + 1
        }
        let column = String(decoding: src[lineStart..<min(offset, src.count - 1)], as: UTF8.self).count + 1
        return (line, column)
    }

    private func fail(_ why: String, at offset: Int) -> GrammarError {
        let (line, column) = location(offset)
        return .syntax(why, line: line, column: column)
    }

    private func describe(_ offset: Int) -> String {
        if src[offset] == 0 { return "the end of the grammar" }
        let end = min(src.count - 1, offset + 12)
        var text = String(decoding: src[offset..<end], as: UTF8.self)
        if let nl = text.firstIndex(where: { $0 == "\n" || $0 == "\r" }) { text = String(text[..<nl]) }
        return text.isEmpty ? "a line break" : "'\(text)'"
    }

    // MARK: - Lexical helpers

    private static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    private static func isWordChar(_ c: UInt8) -> Bool {
        (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || c == UInt8(ascii: "-") || isDigit(c)
    }

    private func parseSpace(_ start: Int, newlineOK: Bool) -> Int {
        var pos = start
        while true {
            let c = src[pos]
            if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || (newlineOK && (c == 0x0D || c == 0x0A)) {
                pos += 1
            } else if c == UInt8(ascii: "#") {
                while src[pos] != 0 && src[pos] != 0x0D && src[pos] != 0x0A { pos += 1 }
            } else {
                return pos
            }
        }
    }

    private func parseName(_ start: Int) throws(GrammarError) -> Int {
        var pos = start
        while Self.isWordChar(src[pos]) { pos += 1 }
        if pos == start { throw fail("expecting a rule name, found \(describe(start))", at: start) }
        return pos
    }

    private func parseInt(_ start: Int) throws(GrammarError) -> Int {
        var pos = start
        while Self.isDigit(src[pos]) { pos += 1 }
        if pos == start { throw fail("expecting an integer, found \(describe(start))", at: start) }
        return pos
    }

    private func number(_ from: Int, _ to: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in from..<to {
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(src[i] - 0x30))
            if o1 || o2 { return .max }
            v = a
        }
        return v
    }

    private func parseHex(_ start: Int, size: Int) throws(GrammarError) -> (UInt32, Int) {
        var pos = start
        var value: UInt32 = 0
        while pos < start + size && src[pos] != 0 {
            let c = src[pos]
            let digit: UInt32
            switch c {
            case 0x61...0x66: digit = UInt32(c - 0x61 + 10)
            case 0x41...0x46: digit = UInt32(c - 0x41 + 10)
            case 0x30...0x39: digit = UInt32(c - 0x30)
            default: throw fail("expecting \(size) hex digits, found \(describe(start))", at: start)
            }
            value = value << 4 + digit
            pos += 1
        }
        if pos != start + size { throw fail("expecting \(size) hex digits, found \(describe(start))", at: start) }
        return (value, pos)
    }

    /// llama.cpp's decode_utf8 for one character of the grammar text.
    private func decodeUTF8(_ start: Int) -> (UInt32, Int) {
        let lookup: [Int] = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4]
        let first = src[start]
        let len = lookup[Int(first >> 4)]
        let mask: UInt8 = UInt8((1 << (8 - len)) - 1)
        var value = UInt32(first & mask)
        var pos = start + 1
        while pos < start + len && src[pos] != 0 {
            value = (value << 6) + UInt32(src[pos] & 0x3F)
            pos += 1
        }
        return (value, pos)
    }

    private func parseChar(_ start: Int) throws(GrammarError) -> (UInt32, Int) {
        if src[start] == UInt8(ascii: "\\") {
            switch src[start + 1] {
            case UInt8(ascii: "x"): return try parseHex(start + 2, size: 2)
            case UInt8(ascii: "u"): return try parseHex(start + 2, size: 4)
            case UInt8(ascii: "U"): return try parseHex(start + 2, size: 8)
            case UInt8(ascii: "t"): return (9, start + 2)
            case UInt8(ascii: "r"): return (13, start + 2)
            case UInt8(ascii: "n"): return (10, start + 2)
            case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "-"):
                return (UInt32(src[start + 1]), start + 2)
            default: throw fail("unknown escape \(describe(start))", at: start)
            }
        } else if src[start] != 0 {
            return decodeUTF8(start)
        }
        throw fail("unexpected end of the grammar", at: start)
    }

    private func parseToken(_ start: Int) throws(GrammarError) -> (UInt32, Int) {
        var pos = start
        guard src[pos] == UInt8(ascii: "<") else { throw fail("expecting '<', found \(describe(pos))", at: pos) }
        pos += 1
        if src[pos] == UInt8(ascii: "[") {
            pos += 1
            let end = try parseInt(pos)
            let id = number(pos, end)
            if id > UInt64(UInt32.max) { throw fail("token id too big", at: pos) }
            pos = end
            guard src[pos] == UInt8(ascii: "]") else { throw fail("expecting ']', found \(describe(pos))", at: pos) }
            pos += 1
            guard src[pos] == UInt8(ascii: ">") else { throw fail("expecting '>', found \(describe(pos))", at: pos) }
            return (UInt32(id), pos + 1)
        }
        guard let tokenLookup else { throw fail("a token by text needs a model's vocabulary", at: start) }
        while src[pos] != 0 && src[pos] != UInt8(ascii: ">") { pos += 1 }
        guard src[pos] == UInt8(ascii: ">") else { throw fail("expecting '>', found \(describe(pos))", at: pos) }
        pos += 1
        let text = String(decoding: src[start..<pos], as: UTF8.self)
        let ids = tokenLookup(text)
        guard ids.count == 1 else { throw fail("invalid token '\(text)' (it is not exactly one token)", at: start) }
        return (UInt32(ids[0]), pos)
    }

    // MARK: - Symbols and rules

    private mutating func symbolID(_ name: String, usedAt offset: Int) -> UInt32 {
        if let id = symbolIDs[name] { return id }
        let id = UInt32(symbolIDs.count)
        symbolIDs[name] = id
        symbolOrder.append(name)
        firstUse[id] = offset
        return id
    }

    private mutating func generateSymbolID(_ base: String) -> UInt32 {
        let id = UInt32(symbolIDs.count)
        let name = base + "_" + String(id)
        symbolIDs[name] = id
        symbolOrder.append(name)
        return id
    }

    private mutating func addRule(_ id: UInt32, _ rule: [GrammarElement]) {
        if rules.count <= Int(id) { rules += Array(repeating: [], count: Int(id) + 1 - rules.count) }
        rules[Int(id)] = rule
    }

    private mutating func parseAlternates(_ start: Int, name: String, id: UInt32, nested: Bool) throws(GrammarError) -> Int {
        var rule: [GrammarElement] = []
        var pos = try parseSequence(start, name: name, rule: &rule, nested: nested)
        while src[pos] == UInt8(ascii: "|") {
            rule.append(GrammarElement(.alt))
            pos = parseSpace(pos + 1, newlineOK: true)
            pos = try parseSequence(pos, name: name, rule: &rule, nested: nested)
        }
        rule.append(GrammarElement(.end))
        addRule(id, rule)
        return pos
    }

    private mutating func parseSequence(_ start: Int, name: String, rule: inout [GrammarElement], nested: Bool) throws(GrammarError) -> Int {
        var lastSymStart = rule.count
        var pos = start
        var previousRules: UInt64 = 1

        func repeatLast(_ parser: inout GBNFParser, min: UInt64, max: UInt64?, at offset: Int) throws(GrammarError) {
            if lastSymStart == rule.count { throw parser.fail("'*', '+', '?' or '{' with nothing before it", at: offset) }
            let previous = Array(rule[lastSymStart...])
            var total: UInt64 = 1
            if let max, max > 0 { total = max } else if min > 0 { total = min }
            if previousRules.multipliedReportingOverflow(by: total).overflow || previousRules * total > Self.maxRepetitions {
                throw parser.fail("too many repetitions (more than \(Self.maxRepetitions) generated rules)", at: offset)
            }
            if min == 0 {
                rule.removeSubrange(lastSymStart...)
            } else {
                for _ in 1..<Swift.max(1, min) { rule += previous }
            }
            var lastRecID: UInt32 = 0
            let optional = max.map { $0 - min } ?? 1
            var recRule = previous
            for i in 0..<optional {
                recRule.removeSubrange(previous.count...)
                let recID = parser.generateSymbolID(name)
                if i > 0 || max == nil { recRule.append(GrammarElement(.ruleRef, max == nil ? recID : lastRecID)) }
                recRule.append(GrammarElement(.alt))
                recRule.append(GrammarElement(.end))
                parser.addRule(recID, recRule)
                lastRecID = recID
            }
            if optional > 0 { rule.append(GrammarElement(.ruleRef, lastRecID)) }
            previousRules *= total
        }

        while src[pos] != 0 {
            let c = src[pos]
            if c == UInt8(ascii: "\"") {
                let open = pos
                pos += 1
                lastSymStart = rule.count
                previousRules = 1
                while src[pos] != UInt8(ascii: "\"") {
                    if src[pos] == 0 { throw fail("unterminated string: no closing '\"'", at: open) }
                    let (ch, next) = try parseChar(pos)
                    pos = next
                    rule.append(GrammarElement(.char, ch))
                }
                pos = parseSpace(pos + 1, newlineOK: nested)
            } else if c == UInt8(ascii: "[") {
                let open = pos
                pos += 1
                var startKind = GrammarElement.Kind.char
                if src[pos] == UInt8(ascii: "^") {
                    pos += 1
                    startKind = .charNot
                }
                lastSymStart = rule.count
                previousRules = 1
                while src[pos] != UInt8(ascii: "]") {
                    if src[pos] == 0 { throw fail("unterminated character class: no closing ']'", at: open) }
                    let (ch, next) = try parseChar(pos)
                    pos = next
                    rule.append(GrammarElement(lastSymStart < rule.count ? .charAlt : startKind, ch))
                    if src[pos] == UInt8(ascii: "-") && src[pos + 1] != UInt8(ascii: "]") {
                        if src[pos + 1] == 0 { throw fail("unexpected end of the grammar", at: pos + 1) }
                        let (upper, after) = try parseChar(pos + 1)
                        pos = after
                        rule.append(GrammarElement(.charRangeUpper, upper))
                    }
                }
                pos = parseSpace(pos + 1, newlineOK: nested)
            } else if c == UInt8(ascii: "<") || c == UInt8(ascii: "!") {
                var kind = GrammarElement.Kind.token
                if c == UInt8(ascii: "!") {
                    kind = .tokenNot
                    pos += 1
                }
                let (id, end) = try parseToken(pos)
                lastSymStart = rule.count
                previousRules = 1
                rule.append(GrammarElement(kind, id))
                pos = parseSpace(end, newlineOK: nested)
            } else if Self.isWordChar(c) {
                let end = try parseName(pos)
                let ref = symbolID(String(decoding: src[pos..<end], as: UTF8.self), usedAt: pos)
                pos = parseSpace(end, newlineOK: nested)
                lastSymStart = rule.count
                previousRules = 1
                rule.append(GrammarElement(.ruleRef, ref))
            } else if c == UInt8(ascii: "(") {
                let open = pos
                pos = parseSpace(pos + 1, newlineOK: true)
                let before = UInt64(symbolIDs.count)
                let sub = generateSymbolID(name)
                pos = try parseAlternates(pos, name: name, id: sub, nested: true)
                previousRules = Swift.max(1, UInt64(symbolIDs.count) - before)
                lastSymStart = rule.count
                rule.append(GrammarElement(.ruleRef, sub))
                if src[pos] != UInt8(ascii: ")") {
                    throw fail("expecting ')' to close the '(' at \(location(open).0):\(location(open).1), found \(describe(pos))", at: pos)
                }
                pos = parseSpace(pos + 1, newlineOK: nested)
            } else if c == UInt8(ascii: ".") {
                lastSymStart = rule.count
                previousRules = 1
                rule.append(GrammarElement(.charAny))
                pos = parseSpace(pos + 1, newlineOK: nested)
            } else if c == UInt8(ascii: "*") || c == UInt8(ascii: "+") || c == UInt8(ascii: "?") {
                let at = pos
                pos = parseSpace(pos + 1, newlineOK: nested)
                switch c {
                case UInt8(ascii: "*"): try repeatLast(&self, min: 0, max: nil, at: at)
                case UInt8(ascii: "+"): try repeatLast(&self, min: 1, max: nil, at: at)
                default: try repeatLast(&self, min: 0, max: 1, at: at)
                }
            } else if c == UInt8(ascii: "{") {
                let at = pos
                pos = parseSpace(pos + 1, newlineOK: nested)
                if !Self.isDigit(src[pos]) { throw fail("expecting an integer after '{', found \(describe(pos))", at: pos) }
                let end = try parseInt(pos)
                let minTimes = number(pos, end)
                pos = parseSpace(end, newlineOK: nested)
                var maxTimes: UInt64? = nil
                if src[pos] == UInt8(ascii: "}") {
                    maxTimes = minTimes
                    pos = parseSpace(pos + 1, newlineOK: nested)
                } else if src[pos] == UInt8(ascii: ",") {
                    pos = parseSpace(pos + 1, newlineOK: nested)
                    if Self.isDigit(src[pos]) {
                        let e = try parseInt(pos)
                        maxTimes = number(pos, e)
                        pos = parseSpace(e, newlineOK: nested)
                    }
                    if src[pos] != UInt8(ascii: "}") { throw fail("expecting '}', found \(describe(pos))", at: pos) }
                    pos = parseSpace(pos + 1, newlineOK: nested)
                } else {
                    throw fail("expecting ',' or '}', found \(describe(pos))", at: pos)
                }
                if minTimes > Self.maxRepetitions { throw fail("too many repetitions (\(minTimes) > \(Self.maxRepetitions))", at: at) }
                if let m = maxTimes, m > Self.maxRepetitions { maxTimes = nil }
                if let m = maxTimes, m < minTimes { throw fail("repetition {\(minTimes),\(m)}: the maximum is below the minimum", at: at) }
                try repeatLast(&self, min: minTimes, max: maxTimes, at: at)
            } else {
                break
            }
        }
        return pos
    }

    private mutating func parseRule(_ start: Int) throws(GrammarError) -> Int {
        let nameEnd = try parseName(start)
        var pos = parseSpace(nameEnd, newlineOK: false)
        let name = String(decoding: src[start..<nameEnd], as: UTF8.self)
        let id = symbolID(name, usedAt: start)
        guard src[pos] == UInt8(ascii: ":") && src[pos + 1] == UInt8(ascii: ":") && src[pos + 2] == UInt8(ascii: "=") else {
            throw fail("expecting '::=' after rule name '\(name)', found \(describe(pos))", at: pos)
        }
        pos = parseSpace(pos + 3, newlineOK: true)
        pos = try parseAlternates(pos, name: name, id: id, nested: false)
        if src[pos] == 0x0D {
            pos += src[pos + 1] == 0x0A ? 2 : 1
        } else if src[pos] == 0x0A {
            pos += 1
        } else if src[pos] != 0 {
            throw fail("expecting a line break or the end, found \(describe(pos))", at: pos)
        }
        return parseSpace(pos, newlineOK: true)
    }

    /// Parses the whole text; afterwards `rules` holds every rule by symbol id.
    mutating func parse() throws(GrammarError) {
        var pos = parseSpace(0, newlineOK: true)
        while src[pos] != 0 { pos = try parseRule(pos) }
        if rules.count < symbolIDs.count { rules += Array(repeating: [], count: symbolIDs.count - rules.count) }
        for (id, rule) in rules.enumerated() where rule.isEmpty {
            let (line, column) = location(firstUse[UInt32(id)] ?? 0)
            throw GrammarError.undefinedRule(symbolOrder[id], line: line, column: column)
        }
    }
}
