import PipelineTensor

/// SentencePiece-style tokenizer from GGUF metadata (`tokenizer.ggml.model = llama`, Gemma's),
/// as llama.cpp's SPM path runs it: special tokens are split out of the raw text first (longest
/// first), then each text fragment has its spaces escaped to U+2581 (with a leading one when
/// `add_space_prefix` asks and the fragment follows a special token or starts the text), is
/// split into characters and merged pairwise, highest-scoring pair first (leftmost on ties),
/// and characters that never form a token fall back to byte tokens `<0xNN>`.
public final class SPMTokenizer: TextTokenizer {
    public let tokens: [String]
    public let scores: [Float]
    public let tokenTypes: [Int]
    public let bos: Int?
    public let eos: Int?
    public let addBOS: Bool
    public let addSpacePrefix: Bool
    public let endOfGeneration: Set<Int>
    private let ids: [String: Int]
    /// Byte tokens by byte value.
    private let byteTokens: [Int?]
    /// Control, user-defined and unknown tokens as UTF-8, longest first (ties by id).
    private let specials: [(bytes: [UInt8], id: Int)]

    /// Token texts llama.cpp treats as end of generation (and as control tokens).
    static let endOfGenerationTexts: Set<String> = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>",
        "<EOT>", "<|end_of_text|>", "<end_of_utterance>", "<eos>",
    ]

    enum TokenType {
        static let normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    public init(gguf: GGUFFile) throws {
        guard gguf["tokenizer.ggml.model"]?.string == "llama" else {
            throw TokenizerError.unsupported("tokenizer.ggml.model \(gguf["tokenizer.ggml.model"]?.string ?? "(none)") (llama is read)")
        }
        guard let tokens = gguf["tokenizer.ggml.tokens"]?.array?.compactMap(\.string), !tokens.isEmpty else {
            throw TokenizerError.missing("tokenizer.ggml.tokens")
        }
        guard let scores = gguf["tokenizer.ggml.scores"]?.array?.compactMap(\.float), scores.count == tokens.count else {
            throw TokenizerError.missing("tokenizer.ggml.scores (one per token)")
        }
        self.tokens = tokens
        self.scores = scores.map { Float($0) }
        var types = gguf["tokenizer.ggml.token_type"]?.array?.compactMap(\.int) ?? []
        if types.count != tokens.count { types = Array(repeating: TokenType.normal, count: tokens.count) }
        var ids: [String: Int] = [:]
        ids.reserveCapacity(tokens.count)
        var eog: Set<Int> = []
        for (i, t) in tokens.enumerated() {
            ids[t] = i  // llama.cpp's map: a later duplicate would win
            if Self.endOfGenerationTexts.contains(t) {
                eog.insert(i)
                types[i] = TokenType.control
            }
        }
        tokenTypes = types
        self.ids = ids
        var byteTokens = [Int?](repeating: nil, count: 256)
        let hex = Array("0123456789ABCDEF")
        for b in 0..<256 {
            byteTokens[b] = ids["<0x\(hex[b >> 4])\(hex[b & 15])>"] ?? (b < 0x80 ? ids[String(UnicodeScalar(UInt8(b)))] : nil)
        }
        self.byteTokens = byteTokens
        specials = tokens.enumerated()
            .filter { [TokenType.control, TokenType.userDefined, TokenType.unknown].contains(types[$0.offset]) && !$0.element.isEmpty }
            .map { (Array($0.element.utf8), $0.offset) }
            .sorted { $0.bytes.count > $1.bytes.count || ($0.bytes.count == $1.bytes.count && $0.id < $1.id) }
        bos = gguf["tokenizer.ggml.bos_token_id"]?.int
        eos = gguf["tokenizer.ggml.eos_token_id"]?.int
        addBOS = gguf["tokenizer.ggml.add_bos_token"] == .bool(true)
        addSpacePrefix = gguf["tokenizer.ggml.add_space_prefix"].map { $0 == .bool(true) } ?? true
        if let eos { eog.insert(eos) }
        endOfGeneration = eog
    }

    public func encode(_ text: String, parseSpecial: Bool = true, addSpecial: Bool = true) -> [Int] {
        var out: [Int] = []
        if addSpecial && addBOS, let bos { out.append(bos) }
        var previousSpecial = true
        let bytes = Array(text.utf8)
        for fragment in partition(bytes, parseSpecial: parseSpecial) {
            switch fragment {
            case .token(let id):
                out.append(id)
                previousSpecial = true
            case .text(let range):
                var piece: [UInt8] = addSpacePrefix && previousSpecial ? [0x20] : []
                piece += bytes[range]
                merge(escapeSpaces(piece), into: &out)
                previousSpecial = false
            }
        }
        return out
    }

    public func bytes(_ ids: [Int]) -> [UInt8] {
        var out: [UInt8] = []
        for id in ids where tokens.indices.contains(id) {
            switch tokenTypes[id] {
            case TokenType.byte:
                let text = tokens[id]
                if text.count == 6, let b = UInt8(text.dropFirst(3).prefix(2), radix: 16) { out.append(b) }
            case TokenType.normal:
                out += unescapeSpaces(Array(tokens[id].utf8))
            default:
                out += Array(tokens[id].utf8)
            }
        }
        return out
    }

    // MARK: - Special tokens

    enum Fragment {
        case text(Range<Int>)
        case token(Int)
    }

    /// llama.cpp's tokenizer_st_partition: each special token in turn (longest first) splits
    /// every remaining text fragment at each of its occurrences.
    private func partition(_ text: [UInt8], parseSpecial: Bool) -> [Fragment] {
        guard !text.isEmpty else { return [] }
        var fragments: [Fragment] = [.text(0..<text.count)]
        var present = [Bool](repeating: false, count: 256)
        for b in text { present[Int(b)] = true }
        for (special, id) in specials where present[Int(special[0])] && special.count <= text.count {
            if !parseSpecial && tokenTypes[id] != TokenType.userDefined { continue }
            var next: [Fragment] = []
            var changed = false
            for fragment in fragments {
                guard case .text(let range) = fragment else {
                    next.append(fragment)
                    continue
                }
                var start = range.lowerBound, i = range.lowerBound
                while i + special.count <= range.upperBound {
                    if text[i] == special[0] && text[i..<(i + special.count)].elementsEqual(special) {
                        if start < i { next.append(.text(start..<i)) }
                        next.append(.token(id))
                        i += special.count
                        start = i
                        changed = true
                    } else {
                        i += 1
                    }
                }
                if start < range.upperBound { next.append(.text(start..<range.upperBound)) }
            }
            if changed { fragments = next }
        }
        return fragments
    }

    // MARK: - Merging

    private func escapeSpaces(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        for b in bytes {
            if b == 0x20 { out += [0xE2, 0x96, 0x81] } else { out.append(b) }
        }
        return out
    }

    private func unescapeSpaces(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            if i + 2 < bytes.count && bytes[i] == 0xE2 && bytes[i + 1] == 0x96 && bytes[i + 2] == 0x81 {
                out.append(0x20)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }

    private struct Bigram {
        let left: Int, right: Int
        let score: Float
        let size: Int
        /// Pops first: higher score, then the leftmost.
        func before(_ other: Bigram) -> Bool { score > other.score || (score == other.score && left < other.left) }
    }

    /// llm_tokenizer_spm_session.tokenize on one escaped fragment.
    private func merge(_ text: [UInt8], into out: inout [Int]) {
        // Symbols: UTF-8 characters as byte ranges in a linked list.
        var start: [Int] = [], length: [Int] = [], prev: [Int] = [], next: [Int] = []
        var offset = 0
        while offset < text.count {
            let lead = text[offset]
            let n = min(lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1, text.count - offset)
            start.append(offset)
            length.append(n)
            prev.append(start.count - 2)
            offset += n
            next.append(offset == text.count ? -1 : start.count)
        }
        guard !start.isEmpty else { return }
        var heap: [Bigram] = []
        func token(_ from: Int, _ count: Int) -> Int? { ids[String(decoding: text[from..<(from + count)], as: UTF8.self)] }
        func push(_ left: Int, _ right: Int) {
            guard left >= 0, right >= 0 else { return }
            let size = length[left] + length[right]
            guard let id = token(start[left], size) else { return }
            heap.append(Bigram(left: left, right: right, score: scores[id], size: size))
            var i = heap.count - 1
            while i > 0 {
                let parent = (i - 1) / 2
                guard heap[i].before(heap[parent]) else { break }
                heap.swapAt(i, parent)
                i = parent
            }
        }
        func pop() -> Bigram {
            let top = heap[0]
            heap[0] = heap[heap.count - 1]
            heap.removeLast()
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var best = i
                if l < heap.count && heap[l].before(heap[best]) { best = l }
                if r < heap.count && heap[r].before(heap[best]) { best = r }
                if best == i { break }
                heap.swapAt(i, best)
                i = best
            }
            return top
        }
        for i in 1..<start.count { push(i - 1, i) }
        while !heap.isEmpty {
            let bigram = pop()
            let l = bigram.left, r = bigram.right
            // Skip pairs whose symbols have since been merged into others.
            if length[l] == 0 || length[r] == 0 || length[l] + length[r] != bigram.size { continue }
            length[l] += length[r]
            length[r] = 0
            next[l] = next[r]
            if next[r] >= 0 { prev[next[r]] = l }
            push(prev[l], l)
            push(l, next[l])
        }
        var i = 0
        while i != -1 {
            if let id = token(start[i], length[i]) {
                out.append(id)
            } else {
                for b in text[start[i]..<(start[i] + length[i])] {
                    if let id = byteTokens[Int(b)] { out.append(id) }
                }
            }
            i = next[i]
        }
    }
}
