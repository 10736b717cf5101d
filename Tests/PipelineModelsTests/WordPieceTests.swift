import Foundation
import Testing

@testable import PipelineModels

@Suite("WordPiece tokenizer")
struct WordPieceTests {
    /// A tiny vocabulary, so the stages are checked without the model folder.
    static func tiny() throws -> WordPieceTokenizer {
        let vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "cafe", ",", "!", "東", "京", "a", "##a"]
        return try WordPieceTokenizer(model: try WordPieceModel(tokens: vocab), maxLength: 6)
    }

    @Test("normalizer: clean text, CJK spacing, accents, lower case")
    func normalizer() {
        func n(_ s: String) -> String {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: BertNormalizer().normalize(s))
            return String(view)
        }
        #expect(n("Café\tNAÏVE") == "cafe naive")
        #expect(n("a\u{0}b\u{fffd}c\u{200d}d\u{7}e") == "abcde")
        #expect(n("東京x") == " 東  京 x")
        #expect(n("ΟΔΟΣ") == "οδοσ")  // scalar by scalar: no final sigma, as `tokenizers` does
        #expect(n("İ") == "i")  // accents are stripped before lower-casing
    }

    @Test("pre-tokenizer: whitespace and punctuation")
    func preTokenizer() {
        let words = BertPreTokenizer().split(Array("hi, there!! $5 a-b".unicodeScalars)).map { String(String.UnicodeScalarView($0)) }
        #expect(words == ["hi", ",", "there", "!", "!", "$", "5", "a", "-", "b"])
    }

    @Test("greedy longest match, [UNK] words, specials, truncation, batch mask")
    func stages() throws {
        let t = try Self.tiny()
        #expect(t.encode("unaffable") == [2, 5, 6, 7, 3])
        #expect(t.encode("unx") == [2, 1, 3])  // a word with an unmatched part is [UNK] as a whole
        #expect(t.encode("Café, 東京!") == [2, 8, 9, 11, 12, 3])
        #expect(t.encode("") == [2, 3])
        #expect(t.encode("a [MASK] a") == [2, 13, 4, 13, 3])
        #expect(t.encode(String(repeating: "a", count: 101)) == [2, 1, 3])  // over 100 characters
        #expect(t.encode(String(repeating: "a", count: 3)) == [2, 13, 14, 14, 3])
        #expect(t.encode("a a a a a a a") == [2, 13, 13, 13, 13, 3])  // cut to maxLength 6
        let batch = t.encodeBatch(["a", "a a a"])
        #expect(batch.sequenceLength == 5)
        #expect(batch.ids == [2, 13, 3, 0, 0, 2, 13, 13, 13, 3])
        #expect(batch.attentionMask == [1, 1, 1, 0, 0, 1, 1, 1, 1, 1])
    }

    @Test("MiniLM: the ids of `tokenizers` for every golden sentence", .enabled(if: minilmAvailable))
    func matchesTokenizers() throws {
        let folder = try #require(minilmFolder())
        let tokenizer = try WordPieceTokenizer(folder: folder)
        let golden = try MiniLMGolden.load(MiniLMGolden.Tokens.self, "tokens")
        #expect(tokenizer.maxLength == golden.max_length)
        #expect(golden.sentences.count >= 50)
        var agree = 0
        for sentence in golden.sentences {
            let ids = tokenizer.encode(sentence.text)
            #expect(ids == sentence.ids, "\(sentence.text.debugDescription)")
            if ids == sentence.ids { agree += 1 }
        }
        print("wordpiece parity: \(agree) of \(golden.sentences.count) sentences match tokenizers")
    }

    @Test("MiniLM: the guitar sentence", .enabled(if: minilmAvailable))
    func guitar() throws {
        let folder = try #require(minilmFolder())
        let tokenizer = try WordPieceTokenizer(folder: folder)
        #expect(tokenizer.encode("A man is playing a guitar.") == [101, 1037, 2158, 2003, 2652, 1037, 2858, 1012, 102])
    }
}
