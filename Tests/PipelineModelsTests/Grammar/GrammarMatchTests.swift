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
