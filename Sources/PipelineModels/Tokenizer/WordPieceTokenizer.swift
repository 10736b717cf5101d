import Foundation

/// A BERT WordPiece tokenizer: added (special) tokens matched literally, then the BERT
/// normalizer, the BERT pre-tokenizer, WordPiece, and `[CLS] … [SEP]` with truncation.
///
/// Built from a model folder: `vocab.txt` (one token per line, the id is the line number),
/// options from `tokenizer.json` (normalizer flags, unknown token, `##` prefix, the longest
/// word) and the maximum length from `sentence_bert_config.json` (`max_seq_length`, what
/// sentence-transformers truncates to) or else `tokenizer.json`'s truncation.
public final class WordPieceTokenizer: Sendable {
    public let normalizer: BertNormalizer
    public let preTokenizer: BertPreTokenizer
    public let model: WordPieceModel
    /// The most ids `encode` returns, `[CLS]` and `[SEP]` included.
    public let maxLength: Int
    public let clsID: Int32
    public let sepID: Int32
    public let padID: Int32
    /// Tokens matched in the raw text before normalizing, longest first.
    private let addedTokens: [(text: String, id: Int32)]

    public init(
        model: WordPieceModel, normalizer: BertNormalizer = BertNormalizer(), maxLength: Int = 512,
        addedTokens: [String] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    ) throws(WordPieceError) {
        func id(_ token: String) throws(WordPieceError) -> Int32 {
            guard let id = model.id(of: token) else { throw .missingToken(token) }
            return id
        }
        self.model = model
        self.normalizer = normalizer
        self.preTokenizer = BertPreTokenizer()
        self.maxLength = max(2, maxLength)
        clsID = try id("[CLS]")
        sepID = try id("[SEP]")
        padID = try id("[PAD]")
        self.addedTokens = addedTokens.compactMap { token in model.id(of: token).map { (token, $0) } }
            .sorted { $0.text.count > $1.text.count }
    }

    /// Loads `vocab.txt` and the options in `folder` (see the type's documentation).
    public convenience init(folder: String) throws(WordPieceError) {
        let vocabPath = folder + "/vocab.txt"
        guard let data = FileManager.default.contents(atPath: vocabPath) else { throw .cannotRead(path: vocabPath) }
        var lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .map { String($0.hasSuffix("\r") ? $0.dropLast() : $0) }
        if lines.last == "" { lines.removeLast() }

        var normalizer = BertNormalizer()
        var unknown = "[UNK]", prefix = "##", maxChars = 100
        var maxLength = 512
        var added = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        let jsonPath = folder + "/tokenizer.json"
        if let json = try Self.readJSON(jsonPath) {
            if let n = json["normalizer"] as? [String: Any] {
                guard n["type"] as? String == "BertNormalizer" else {
                    throw .unsupported(path: jsonPath, what: "normalizer \(n["type"] ?? "?") (BertNormalizer is read)")
                }
                let lowercase = n["lowercase"] as? Bool ?? true
                normalizer = BertNormalizer(
                    cleanText: n["clean_text"] as? Bool ?? true, handleChineseChars: n["handle_chinese_chars"] as? Bool ?? true,
                    stripAccents: n["strip_accents"] as? Bool, lowercase: lowercase)
            }
            if let p = json["pre_tokenizer"] as? [String: Any], p["type"] as? String != "BertPreTokenizer" {
                throw .unsupported(path: jsonPath, what: "pre_tokenizer \(p["type"] ?? "?") (BertPreTokenizer is read)")
            }
            if let m = json["model"] as? [String: Any] {
                guard m["type"] as? String == "WordPiece" else {
                    throw .unsupported(path: jsonPath, what: "model \(m["type"] ?? "?") (WordPiece is read)")
                }
                unknown = m["unk_token"] as? String ?? unknown
                prefix = m["continuing_subword_prefix"] as? String ?? prefix
                maxChars = m["max_input_chars_per_word"] as? Int ?? maxChars
            }
            if let t = json["truncation"] as? [String: Any], let length = t["max_length"] as? Int { maxLength = length }
            if let tokens = json["added_tokens"] as? [[String: Any]] {
                added = tokens.compactMap { $0["content"] as? String }
            }
        }
        if let config = try Self.readJSON(folder + "/sentence_bert_config.json"), let length = config["max_seq_length"] as? Int {
            maxLength = length
        }
        let model = try WordPieceModel(tokens: lines, unknownToken: unknown, continuingPrefix: prefix, maxInputCharsPerWord: maxChars)
        try self.init(model: model, normalizer: normalizer, maxLength: maxLength, addedTokens: added)
    }

    /// The ids of `text` without `[CLS]`/`[SEP]` and without truncation.
    public func encodeWords(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            let next = addedTokens.lazy.compactMap { token in rest.range(of: token.text).map { ($0, token.id) } }
                .min { $0.0.lowerBound < $1.0.lowerBound }
            let plainEnd = next?.0.lowerBound ?? rest.endIndex
            for word in preTokenizer.split(normalizer.normalize(rest[..<plainEnd])) {
                model.encode(word: word, into: &ids)
            }
            guard let (range, id) = next else { break }
            ids.append(id)
            rest = rest[range.upperBound...]
        }
        return ids
    }

    /// `[CLS]`, the ids of `text` cut to `maxLength - 2`, `[SEP]`.
    public func encode(_ text: String) -> [Int32] {
        [clsID] + encodeWords(text).prefix(maxLength - 2) + [sepID]
    }

    /// Several texts encoded and padded to the longest, with the attention mask.
    public func encodeBatch(_ texts: [String]) -> TokenBatch {
        TokenBatch(texts.map(encode), padID: padID)
    }

    private static func readJSON(_ path: String) throws(WordPieceError) -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw .badJSON(path: path, reason: "not a JSON object")
        }
        return object
    }
}
