/// WordPiece: splits a word into the longest vocabulary pieces from its start, later pieces
/// carrying the `##` prefix. A word with a part that no piece matches, or longer than
/// `maxInputCharsPerWord` scalars, becomes the unknown token as a whole.
public struct WordPieceModel: Sendable {
    /// Tokens by id (the lines of vocab.txt).
    public let tokens: [String]
    public let unknownID: Int32
    public let continuingPrefix: String
    public let maxInputCharsPerWord: Int
    private let ids: [String: Int32]

    public init(tokens: [String], unknownToken: String = "[UNK]", continuingPrefix: String = "##", maxInputCharsPerWord: Int = 100)
        throws(WordPieceError)
    {
        var ids: [String: Int32] = [:]
        ids.reserveCapacity(tokens.count)
        for (i, token) in tokens.enumerated() where ids[token] == nil { ids[token] = Int32(i) }
        guard let unknownID = ids[unknownToken] else { throw .missingToken(unknownToken) }
        self.tokens = tokens
        self.ids = ids
        self.unknownID = unknownID
        self.continuingPrefix = continuingPrefix
        self.maxInputCharsPerWord = maxInputCharsPerWord
    }

    /// The id of a token, if it is in the vocabulary.
    public func id(of token: String) -> Int32? { ids[token] }

    /// Appends the ids of one pre-tokenized word to `out`.
    public func encode(word: ArraySlice<Unicode.Scalar>, into out: inout [Int32]) {
        guard word.count <= maxInputCharsPerWord else {
            out.append(unknownID)
            return
        }
        let mark = out.count
        var start = word.startIndex
        while start < word.endIndex {
            var end = word.endIndex
            var found: Int32?
            while start < end {
                var piece = start == word.startIndex ? "" : continuingPrefix
                piece.unicodeScalars.append(contentsOf: word[start..<end])
                if let id = ids[piece] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let found else {
                out.removeSubrange(mark...)
                out.append(unknownID)
                return
            }
            out.append(found)
            start = end
        }
    }
}
