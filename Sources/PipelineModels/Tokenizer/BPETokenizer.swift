import PipelineTensor

/// Why a tokenizer could not be built from a model file.
public enum TokenizerError: Error, Sendable, Equatable, CustomStringConvertible {
    case missing(String)
    case unsupported(String)

    public var description: String {
        switch self {
        case .missing(let key): return "the model has no \(key)"
        case .unsupported(let what): return "unsupported tokenizer: \(what)"
        }
    }
}

/// GPT-2 style byte-level BPE, built from GGUF metadata (`tokenizer.ggml.model = gpt2`):
/// special tokens first, then the pre-tokenizer named by `tokenizer.ggml.pre`, the byte map,
/// and merges applied lowest rank first (leftmost on ties), as llama.cpp does.
public final class BPETokenizer: TextTokenizer {
    public let tokens: [String]
    public let tokenTypes: [Int]
    public let preTokenizer: PreTokenizer
    public let bos: Int?
    public let eos: Int?
    public let addBOS: Bool
    public var endOfGeneration: Set<Int> { [] }
    private let ids: [String: Int]
    private let ranks: [String: Int]
    /// Control and user-defined tokens, longest first, matched literally in text.
    private let specials: [(text: String, id: Int)]

    public init(gguf: GGUFFile) throws {
        guard gguf["tokenizer.ggml.model"]?.string == "gpt2" else {
            throw TokenizerError.unsupported("tokenizer.ggml.model \(gguf["tokenizer.ggml.model"]?.string ?? "(none)") (gpt2 is read)")
        }
        guard let tokens = gguf["tokenizer.ggml.tokens"]?.array?.compactMap(\.string) else {
            throw TokenizerError.missing("tokenizer.ggml.tokens")
        }
        guard let merges = gguf["tokenizer.ggml.merges"]?.array?.compactMap(\.string) else {
            throw TokenizerError.missing("tokenizer.ggml.merges")
        }
        let pre = gguf["tokenizer.ggml.pre"]?.string ?? "gpt2"
        guard let preTokenizer = PreTokenizer(rawValue: pre == "default" ? "gpt2" : pre) else {
            throw TokenizerError.unsupported("pre-tokenizer '\(pre)' (gpt2 and smollm are read)")
        }
        self.tokens = tokens
        self.preTokenizer = preTokenizer
        let types = gguf["tokenizer.ggml.token_type"]?.array?.compactMap(\.int) ?? Array(repeating: 1, count: tokens.count)
        tokenTypes = types
        var ids: [String: Int] = [:]
        for (i, t) in tokens.enumerated() where ids[t] == nil { ids[t] = i }
        self.ids = ids
        var ranks: [String: Int] = [:]
        for (i, m) in merges.enumerated() where ranks[m] == nil { ranks[m] = i }
        self.ranks = ranks
        specials = tokens.enumerated()
            .filter { types.indices.contains($0.offset) && (types[$0.offset] == 3 || types[$0.offset] == 4) && !$0.element.isEmpty }
            .map { ($0.element, $0.offset) }
            .sorted { $0.text.utf8.count > $1.text.utf8.count }
        bos = gguf["tokenizer.ggml.bos_token_id"]?.int
        eos = gguf["tokenizer.ggml.eos_token_id"]?.int
        addBOS = gguf["tokenizer.ggml.add_bos_token"] == .bool(true)
    }

    /// Token ids for `text`. With `parseSpecial`, special tokens written in the text
    /// (`<|im_start|>`) become their ids; BOS is added only when the model asks for it.
    public func encode(_ text: String, parseSpecial: Bool = true, addSpecial: Bool = true) -> [Int] {
        var out: [Int] = []
        if addSpecial && addBOS, let bos { out.append(bos) }
        for (fragment, special) in partition(text, parseSpecial: parseSpecial) {
            if let special {
                out.append(special)
                continue
            }
            for piece in preTokenizer.split(fragment) { bpe(ByteLevel.encode(piece), into: &out) }
        }
        return out
    }

    /// The text of tokens (special tokens spelled out), decoding bytes as UTF-8 with U+FFFD
    /// for invalid sequences.
    public func decode(_ ids: [Int]) -> String {
        String(decoding: bytes(ids), as: UTF8.self)
    }

    /// The raw bytes of tokens (a streaming decoder joins these and emits only whole characters).
    public func bytes(_ ids: [Int]) -> [UInt8] {
        var out: [UInt8] = []
        for id in ids where tokens.indices.contains(id) {
            let text = tokens[id]
            if tokenTypes.indices.contains(id) && (tokenTypes[id] == 3 || tokenTypes[id] == 4) {
                out += Array(text.utf8)
            } else if let b = ByteLevel.decode(text) {
                out += b
            } else {
                out += Array(text.utf8)
            }
        }
        return out
    }

    private func partition(_ text: String, parseSpecial: Bool) -> [(Substring, Int?)] {
        guard parseSpecial, !specials.isEmpty else { return [(Substring(text), nil)] }
        var result: [(Substring, Int?)] = []
        let rest = Substring(text)
        var plainStart = rest.startIndex
        var i = rest.startIndex
        outer: while i < rest.endIndex {
            for (special, id) in specials where rest[i...].hasPrefix(special) {
                if plainStart < i { result.append((rest[plainStart..<i], nil)) }
                result.append((rest[i..<rest.index(i, offsetBy: special.count)], id))
                i = rest.index(i, offsetBy: special.count)
                plainStart = i
                continue outer
            }
            i = rest.index(after: i)
        }
        if plainStart < rest.endIndex { result.append((rest[plainStart...], nil)) }
        return result
    }

    /// Merges one byte-level word and appends its token ids.
    private func bpe(_ word: String, into out: inout [Int]) {
        var symbols = word.unicodeScalars.map { String($0) }
        while symbols.count > 1 {
            var best = Int.max, at = -1
            for k in 0..<(symbols.count - 1) {
                if let r = ranks[symbols[k] + " " + symbols[k + 1]], r < best {
                    best = r
                    at = k
                }
            }
            if at < 0 { break }
            symbols[at] += symbols[at + 1]
            symbols.remove(at: at + 1)
        }
        for symbol in symbols {
            if let id = ids[symbol] {
                out.append(id)
            } else {
                for scalar in symbol.unicodeScalars { if let id = ids[String(scalar)] { out.append(id) } }
            }
        }
    }
}
