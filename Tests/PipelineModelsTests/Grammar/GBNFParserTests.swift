import Foundation
import Testing

@testable import PipelineModels

/// The GBNF parser against llama.cpp's own parser tests (tests/test-grammar-parser.cpp in
/// llama-cpp-python 0.3.36's vendored llama.cpp): the same rule numbering and element layout.
@Suite("GBNF parser")
struct GBNFParserTests {
    typealias E = GrammarElement

    /// Rules as llama.cpp lays them out, by rule id.
    static func rules(_ g: Grammar) -> [[E]] {
        g.ruleStart.indices.map { id in
            var i = Int(g.ruleStart[id])
            var out: [E] = []
            while g.elements[i].kind != .end { out.append(g.elements[i]); i += 1 }
            out.append(E(.end))
            return out
        }
    }

    @Test("alternatives and classes: root ::= \"a\" | [bdx-z] | [^1-3]")
    func classes() throws {
        let g = try Grammar(gbnf: #"root  ::= "a" | [bdx-z] | [^1-3]"#)
        #expect(g.ruleNames == ["root"])
        #expect(Self.rules(g) == [[
            E(.char, 97), E(.alt), E(.char, 98), E(.charAlt, 100), E(.charAlt, 120), E(.charRangeUpper, 122), E(.alt),
            E(.charNot, 49), E(.charRangeUpper, 51), E(.end),
        ]])
    }

    @Test("bounded repetition a{3,5000} is rewritten as llama.cpp does (3 copies, then a recursive tail)")
    func repetition() throws {
        let g = try Grammar(gbnf: #"root ::= "a"{3,5000}"#)
        #expect(g.ruleNames == ["root", "root_1"])
        #expect(Self.rules(g) == [
            [E(.char, 97), E(.char, 97), E(.char, 97), E(.ruleRef, 1), E(.end)],
            [E(.char, 97), E(.ruleRef, 1), E(.alt), E(.end)],
        ])
    }

    @Test("x{2,4} nests optional copies; ? * + and groups make generated rules name_N")
    func nesting() throws {
        let g = try Grammar(gbnf: "root ::= (\"x\" y)? z* w+ \"q\"{2,4}\ny ::= \"y\"\nz ::= [z]\nw ::= \"w\"")
        #expect(g.ruleNames == ["root", "root_1", "y", "root_3", "z", "root_5", "w", "root_7", "root_8", "root_9"])
        let r = Self.rules(g)
        #expect(r[0] == [E(.ruleRef, 3), E(.ruleRef, 5), E(.ruleRef, 6), E(.ruleRef, 7), E(.char, 113), E(.char, 113), E(.ruleRef, 9), E(.end)])
        #expect(r[3] == [E(.ruleRef, 1), E(.alt), E(.end)])  // ( ... )?
        #expect(r[5] == [E(.ruleRef, 4), E(.ruleRef, 5), E(.alt), E(.end)])  // z*
        #expect(r[9] == [E(.char, 113), E(.ruleRef, 8), E(.alt), E(.end)])  // the outer optional copy
    }

    @Test("escapes: \\x \\u \\U \\t \\n \\\\ \\\" \\] and UTF-8 characters")
    func escapes() throws {
        let g = try Grammar(gbnf: #"root ::= "\x41\u00e9\U0001F600\t\n\\\"" [\]\-] "é😀""#)
        let chars = Self.rules(g)[0].map(\.value)
        #expect(chars == [0x41, 0xE9, 0x1F600, 9, 10, 0x5C, 0x22, 0x5D, 0x2D, 0xE9, 0x1F600, 0])
    }

    @Test("comments and line breaks inside groups")
    func comments() throws {
        let g = try Grammar(gbnf: "# a comment\nroot ::= ( # inside\n  \"a\" |\n  \"b\" ) # after\n")
        #expect(g.ruleNames == ["root", "root_1"])
    }

    @Test("errors carry the grammar's line and column", arguments: [
        ("root ::= \"a\"\nfoo ::= [a-", 2, 12, "end"),
        ("root ::= * \"b\"\n", 1, 10, "nothing before"),
        ("root ::= \"a\n", 1, 10, "unterminated"),
        ("root ::= (\"a\" \"b\"\n", 2, 1, "')'"),
        ("root := \"a\"", 1, 6, "::="),
        ("root ::= \"\\q\"", 1, 11, "escape"),
        ("root ::= \"a\"{2", 1, 15, "','"),
        ("root ::= \"a\"{3,1}", 1, 13, "below the minimum"),
        ("root ::= [a] \n\n  x ::= \"\\x4\"", 3, 12, "hex"),
    ] as [(String, Int, Int, String)])
    func syntaxErrors(_ text: String, _ line: Int, _ column: Int, _ word: String) {
        do {
            _ = try Grammar(gbnf: text)
            Issue.record("parsed: \(text)")
        } catch {
            guard case let .syntax(why, l, c)? = error as? GrammarError else {
                Issue.record("not a syntax error: \(error)")
                return
            }
            #expect(l == line && c == column, "\(error)")
            #expect(why.contains(word), "\(error)")
        }
    }

    @Test("undefined rule, missing root, left recursion")
    func semanticErrors() {
        #expect(throws: GrammarError.undefinedRule("value", line: 2, column: 10)) { try Grammar(gbnf: "root ::= item\nitem ::= value") }
        #expect(throws: GrammarError.noRoot) { try Grammar(gbnf: "start ::= \"a\"") }
        #expect(throws: GrammarError.leftRecursion(rule: "root")) { try Grammar(gbnf: "root ::= root \"a\" | \"b\"") }
        #expect(throws: GrammarError.leftRecursion(rule: "root")) { try Grammar(gbnf: "root ::= e \"a\"\ne ::= \"\" | root") }
    }
}
