import Foundation

/// A model's tokens as the grammar sees them: each token's bytes (llama.cpp's
/// `token_to_piece` with special tokens rendered, unused tokens empty), the end-of-generation
/// set, and a byte trie over all pieces in depth-first order, so a mask is one walk that
/// shares every common prefix and skips a whole subtree as soon as its prefix is rejected.
public final class GrammarVocabulary: Sendable {
    /// Token bytes by id, cut at the first zero byte (llama.cpp reads them as C strings).
    public let pieces: [[UInt8]]
    /// Tokens that end a generation; allowed only where the grammar can end.
    public let endOfGeneration: Set<Int>
    public var count: Int { pieces.count }

    // The trie, nodes in preorder. A node is one byte at some depth; `subtreeEnd` is the index
    // after its last descendant; tokens ending at a node are `sorted[tokenFirst..<tokenFirst+tokenCount]`.
    let nodeByte: [UInt8]
    let nodeDepth: [Int32]
    let subtreeEnd: [Int32]
    let tokenFirst: [Int32]
    let tokenCount: [Int32]
    let sorted: [Int32]
    let maxDepth: Int

    /// - Parameters:
    ///   - tokenTypes: GGUF `tokenizer.ggml.token_type` (5, unused, gives an empty piece).
    public init(tokenizer: any TextTokenizer, tokenTypes: [Int], endOfGeneration: Set<Int>) {
        var pieces: [[UInt8]] = []
        pieces.reserveCapacity(tokenizer.tokens.count)
        for id in tokenizer.tokens.indices {
            if tokenTypes.indices.contains(id) && tokenTypes[id] == 5 {
                pieces.append([])
                continue
            }
            var bytes = tokenizer.bytes([id])
            if let zero = bytes.firstIndex(of: 0) { bytes.removeSubrange(zero...) }
            pieces.append(bytes)
        }
        self.pieces = pieces
        // llama.cpp also ends generation at any token with one of these texts (llama-vocab.cpp).
        var endOfGeneration = endOfGeneration
        for (id, text) in tokenizer.tokens.enumerated() where Self.endOfGenerationTexts.contains(text) { endOfGeneration.insert(id) }
        self.endOfGeneration = endOfGeneration
        let order = pieces.indices.filter { !pieces[$0].isEmpty && !endOfGeneration.contains($0) }
            .sorted { a, b in
                pieces[a].lexicographicallyPrecedes(pieces[b]) || (pieces[a] == pieces[b] && a < b)
            }
        var byte: [UInt8] = []
        var depth: [Int32] = []
        var end: [Int32] = []
        var first: [Int32] = []
        var countAt: [Int32] = []
        var path: [Int] = []  // node index at each depth of the current path
        var previous: [UInt8] = []
        var deepest = 0
        for (rank, id) in order.enumerated() {
            let p = pieces[id]
            var lcp = 0
            while lcp < min(p.count, previous.count) && p[lcp] == previous[lcp] { lcp += 1 }
            // Close the nodes deeper than the shared prefix.
            while path.count > lcp {
                end[path.removeLast()] = Int32(byte.count)
            }
            for d in lcp..<p.count {
                path.append(byte.count)
                byte.append(p[d])
                depth.append(Int32(d))
                end.append(0)
                first.append(Int32(rank))
                countAt.append(0)
            }
            let node = path[p.count - 1]
            if countAt[node] == 0 { first[node] = Int32(rank) }
            countAt[node] += 1
            previous = p
            deepest = max(deepest, p.count)
        }
        while let node = path.popLast() { end[node] = Int32(byte.count) }
        nodeByte = byte
        nodeDepth = depth
        subtreeEnd = end
        tokenFirst = first
        tokenCount = countAt
        sorted = order.map { Int32($0) }
        maxDepth = deepest
    }

    /// Token texts llama.cpp's vocabulary loader marks as end of generation.
    static let endOfGenerationTexts: Set<String> = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>",
        "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>",
        "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~[",
    ]

    /// The vocabulary of a loaded model (built once per model and kept).
    public static func of(_ model: LoadedModel) -> GrammarVocabulary {
        lock.lock()
        defer { lock.unlock() }
        if let v = cache[ObjectIdentifier(model)] { return v }
        let types = model.file["tokenizer.ggml.token_type"]?.array?.compactMap(\.int) ?? []
        let v = GrammarVocabulary(tokenizer: model.tokenizer, tokenTypes: types, endOfGeneration: model.stopTokens)
        cache[ObjectIdentifier(model)] = v
        return v
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var cache: [ObjectIdentifier: GrammarVocabulary] = [:]
}
