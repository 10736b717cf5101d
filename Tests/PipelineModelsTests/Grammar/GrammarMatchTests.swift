import Foundation
import Testing

@testable import PipelineModels

/// Which strings a grammar accepts, on code points (the cases of llama.cpp's
/// tests/test-grammar-integration.cpp and more).
@Suite("Grammar matching")
struct GrammarMatchTests {
    /// True when `text` is a complete sentence of the grammar.
    static func matches(_ grammar: String, _ text: String) throws -> Bool {
        let automaton = try GrammarAutomaton(try Grammar(gbnf: grammar))
        return automaton.locked {
            var state = automaton.stateID(automaton.initialStacks)
            for c in text.unicodeScalars {
                state = automaton.transition(state, c.value)
                if state < 0 { return false }
            }
            return automaton.isAccepting(state)
        }
    }

    @Test("passing and failing strings", arguments: [
        (#"root ::= "abc""#, ["abc"], ["ab", "abcd", "", "abd"]),
        (#"root ::= [a-z]+ ("-" [0-9]{2,3})?"#, ["ab", "a-12", "zz-123"], ["a-1", "a-1234", "-12", "A"]),
        (#"root ::= [^abc]*"#, ["", "xyz", "é"], ["a", "xa"]),
        (#"root ::= "x"{0,2} "y""#, ["y", "xy", "xxy"], ["xxxy", "x"]),
        (#"root ::= .{2} "!""#, ["ab!", "é😀!"], ["a!", "abc!"]),
        ("root ::= item (\",\" item)*\nitem ::= \"a\" | \"[\" root \"]\"", ["a", "a,[a,a]", "[[a]]"], ["a,", "[a", ","]),
        (#"root ::= "日本" [語]?"#, ["日本", "日本語"], ["日", "日本人"]),
    ] as [(String, [String], [String])])
    func strings(_ grammar: String, _ passing: [String], _ failing: [String]) throws {
        for s in passing { #expect(try Self.matches(grammar, s), "\(grammar) should accept \(s.debugDescription)") }
        for s in failing { #expect(try !Self.matches(grammar, s), "\(grammar) should reject \(s.debugDescription)") }
    }

    @Test("token references parse but are refused by the engine")
    func tokens() throws {
        let g = try Grammar(gbnf: "root ::= <[42]> !<[7]>")
        #expect(g.usesTokens)
        #expect(throws: GrammarError.self) { try GrammarAutomaton(g) }
    }

    @Test("places in a counted repetition share parts; masks equal the full walk up to the bound and past it")
    func countedRepetitions() throws {
        let vocab = GrammarVocabulary(tokenizer: ByteTokenizer(), tokenTypes: [], endOfGeneration: [256])
        for text in [#"root ::= "\"" [a-z]{0,30} "\"""#, #"root ::= "<" ([a-c] [x-z]){12} ">""#, #"root ::= ("ab" | "c"){3,25} "!""#] {
            let grammar = try Grammar(gbnf: text)
            let equivalence = GrammarEquivalence(grammar, horizon: vocab.maxDepth + 1)
            #expect(Set(equivalence.canonical).count < grammar.elements.count, "\(text): no positions shared")
            for precompute in [true, false] {
                let constraint = try GrammarConstraint(grammar: grammar, vocabulary: vocab, precompute: precompute)
                var m = constraint.makeMatcher()
                var seed: UInt64 = 3
                for _ in 0..<80 {
                    let mask = m.mask()
                    let reference = m.referenceMask()
                    #expect(mask == reference, "\(text) precompute \(precompute)")
                    let allowed = mask.allowed.filter { $0 != 256 }
                    guard !allowed.isEmpty else { break }
                    seed = seed &* 6364136223846793005 &+ 1442695040888963407
                    // Mostly stay inside the repetition, to reach its bound.
                    let pick = allowed.count > 1 && seed >> 60 != 0 ? allowed.filter { $0 != 34 && $0 != 62 && $0 != 33 } : allowed
                    guard !pick.isEmpty else { break }
                    let ok = m.accept(pick[Int((seed >> 33) % UInt64(pick.count))])
                    #expect(ok)
                }
            }
        }
    }

    @Test("the DFA tables reset when full and matching goes on the same")
    func bounded() throws {
        let automaton = try GrammarAutomaton(try Grammar(gbnf: "root ::= [a-z]*"), maxStates: 2, maxTransitions: 3)
        let vocab = GrammarVocabulary(tokenizer: ByteTokenizer(), tokenTypes: [], endOfGeneration: [256])
        let constraint = try GrammarConstraint(grammar: automaton.grammar, vocabulary: vocab)
        var m = constraint.makeMatcher()
        for c in "hello world".utf8 {
            let mask = m.mask()
            #expect(mask.allows(Int(c)) == (c != 32))
            if c == 32 { break }
            let ok = m.accept(Int(c))
            #expect(ok)
        }
        #expect(constraint.automaton.stateCount <= 3)
    }
}

/// A 257-token vocabulary: one token per byte and an end token.
struct ByteTokenizer: TextTokenizer {
    var tokens: [String] { (0..<257).map { String($0) } }
    var bos: Int? { nil }
    var eos: Int? { 256 }
    var endOfGeneration: Set<Int> { [256] }
    func encode(_ text: String, parseSpecial: Bool, addSpecial: Bool) -> [Int] { text.utf8.map(Int.init) }
    func bytes(_ ids: [Int]) -> [UInt8] { ids.compactMap { $0 < 256 ? UInt8($0) : nil } }
}

/// Numeric bounds compiled digit by digit, against plain comparisons on many texts.
@Suite("Schema numeric ranges")
struct NumericRangeTests {
    static func accepts(_ schema: String, _ text: String) throws -> Bool {
        let automaton = try GrammarAutomaton(try JSONSchemaCompiler.grammar(for: try JSONValue(parsing: schema)))
        return automaton.locked {
            var state = automaton.stateID(automaton.initialStacks)
            for c in text.unicodeScalars {
                state = automaton.transition(state, c.value)
                if state < 0 { return false }
            }
            return automaton.isAccepting(state)
        }
    }

    static let texts: [String] = {
        var out: [String] = []
        for i in -130...130 { out.append(String(i)) }
        for i in stride(from: -25, through: 25, by: 1) { out += ["\(i).5", "\(i).0", "\(i).05"] }
        out += ["-0", "-0.0", "0.0", "0.001", "-0.001", "1000", "-1000", "007", "1e2", "1.", ".5"]
        return out
    }()

    @Test("integer and number bounds, inclusive and exclusive, negative and positive", arguments: [
        ("integer", #""minimum": -17, "maximum": 103"#), ("integer", #""exclusiveMinimum": -5, "exclusiveMaximum": 9"#),
        ("integer", #""minimum": 42"#), ("integer", #""maximum": -3"#), ("integer", #""minimum": 0, "maximum": 0"#),
        ("number", #""minimum": -10, "maximum": 10"#), ("number", #""exclusiveMinimum": -2, "maximum": 3"#),
        ("number", #""minimum": 0, "exclusiveMaximum": 1"#), ("number", #""maximum": -1"#), ("number", #""exclusiveMinimum": 0"#),
        ("number", #""minimum": -20, "exclusiveMaximum": 0"#),
    ])
    func bounds(_ type: String, _ keywords: String) throws {
        let schema = "{\"type\": \"\(type)\", \(keywords)}"
        let b = try JSONValue(parsing: schema)
        for text in Self.texts {
            let value = Double(text)
            let wellFormed = (try? JSONValue(parsing: text)) != nil && !text.contains("e")
            var expected = wellFormed && value != nil
            if let v = value, expected {
                if type == "integer" && v != v.rounded() { expected = false }
                if let m = b["minimum"]?.double, v < m { expected = false }
                if let m = b["maximum"]?.double, v > m { expected = false }
                if let m = b["exclusiveMinimum"]?.double, v <= m { expected = false }
                if let m = b["exclusiveMaximum"]?.double, v >= m { expected = false }
            }
            let got = try Self.accepts(schema, text)
            if expected {
                // The canonical form never writes -0.
                if !text.hasPrefix("-0") { #expect(got, "\(schema) should accept \(text)") }
            } else if got {
                // Accepting is only allowed for valid values (e.g. "1e2" forms the grammar may not write).
                #expect(Bool(false), "\(schema) accepts \(text)")
            }
        }
    }
}

/// Strings: long length bounds past llama.cpp's repetition limit, patterns, formats.
@Suite("Schema strings")
struct SchemaStringTests {
    static func accepts(_ schema: String, _ value: String) throws -> Bool {
        var text = ""
        JSONValue.string(value).write(into: &text)
        return try NumericRangeTests.accepts(schema, text)
    }

    @Test("maxLength 2500 and minLength 3 with maxLength 1500 are exact")
    func longBounds() throws {
        let a = #"{"type": "string", "maxLength": 2500}"#
        #expect(try Self.accepts(a, String(repeating: "x", count: 2500)))
        #expect(try !Self.accepts(a, String(repeating: "x", count: 2501)))
        #expect(try Self.accepts(a, String(repeating: "x", count: 1999)))
        let b = #"{"type": "string", "minLength": 3, "maxLength": 1500}"#
        #expect(try !Self.accepts(b, "xy"))
        #expect(try Self.accepts(b, "xyz"))
        #expect(try Self.accepts(b, String(repeating: "é", count: 1500)))
        #expect(try !Self.accepts(b, String(repeating: "é", count: 1501)))
    }

    @Test("patterns: anchors, classes, groups, quantifiers; escaped characters in the JSON text", arguments: [
        (#"^[a-z]+-[0-9]{2,3}$"#, ["ab-12", "x-999"], ["ab-1", "AB-12", "ab-1234", "ab-12 "]),
        (#"^(?:\+|00)?[0-9 ]{7,12}$"#, ["+12 345 678", "0012345678", "1234567"], ["+12", "++1234567", "12345678901234"]),
        (#"abc"#, ["abc", "xxabcxx"], ["ab", "acb"]),
        (#"^a"b\\c$"#, ["a\"b\\c"], ["ab\\c", "a\"bc"]),
        (#"^\d{3}(\.\d+)?$"#, ["123", "123.45"], ["12", "123.", "1234"]),
        (#"^(cat|dog)s?$"#, ["cat", "dogs"], ["cow", "cats!"]),
        (#"^[^\s]+$"#, ["a-b", "é"], ["a b", "a\tb", ""]),
    ])
    func patterns(_ pattern: String, _ good: [String], _ bad: [String]) throws {
        var schema = #"{"type": "string", "pattern": "#
        JSONValue.string(pattern).write(into: &schema)
        schema += "}"
        for s in good { #expect(try Self.accepts(schema, s), "\(pattern) should accept \(s.debugDescription)") }
        for s in bad { #expect(try !Self.accepts(schema, s), "\(pattern) should reject \(s.debugDescription)") }
    }

    @Test("patterns with length bounds intersect; lookaround is refused with its pointer")
    func patternBounds() throws {
        let s = #"{"type": "string", "pattern": "^[0-9a-f]*$", "minLength": 4, "maxLength": 6}"#
        #expect(try Self.accepts(s, "abcd") && Self.accepts(s, "abcdef"))
        #expect(try !Self.accepts(s, "abc") && !Self.accepts(s, "abcdef0") && !Self.accepts(s, "abcg"))
        #expect(throws: GrammarError.self) { try JSONSchemaCompiler.grammar(for: try JSONValue(parsing: #"{"type": "string", "pattern": "^(?=a)b$"}"#)) }
    }

    @Test("formats: dates with month lengths and leap years, times, uuids, emails")
    func formats() throws {
        let date = #"{"type": "string", "format": "date"}"#
        for d in ["2024-02-29", "2000-02-29", "2023-12-31", "1999-04-30"] { #expect(try Self.accepts(date, d), "\(d)") }
        for d in ["2023-02-29", "1900-02-29", "2023-04-31", "2023-13-01", "2023-00-10", "0000-01-01"] { #expect(try !Self.accepts(date, d), "\(d)") }
        #expect(try Self.accepts(#"{"type": "string", "format": "date-time"}"#, "2023-05-01T12:30:00.5+02:00"))
        #expect(try !Self.accepts(#"{"type": "string", "format": "time"}"#, "24:00:00Z"))
        #expect(try Self.accepts(#"{"type": "string", "format": "uuid"}"#, "123e4567-e89b-12d3-a456-426614174000"))
        #expect(try Self.accepts(#"{"type": "string", "format": "email"}"#, "a.b+c@example.co.uk"))
        #expect(try !Self.accepts(#"{"type": "string", "format": "email"}"#, "a@b"))
    }
}
