import PipelineTensor

/// A tokenizer built from GGUF metadata: text to token ids and ids back to bytes.
public protocol TextTokenizer: Sendable {
    /// Token texts by id (as stored in the file).
    var tokens: [String] { get }
    var bos: Int? { get }
    var eos: Int? { get }
    /// Tokens that end a generation besides EOS (llama.cpp's end-of-generation set).
    var endOfGeneration: Set<Int> { get }

    /// Token ids for `text`. With `parseSpecial`, special tokens written in the text become
    /// their ids; `addSpecial` adds BOS where the model's metadata asks for it.
    func encode(_ text: String, parseSpecial: Bool, addSpecial: Bool) -> [Int]

    /// The raw bytes of tokens (a streaming decoder joins these and emits only whole characters).
    func bytes(_ ids: [Int]) -> [UInt8]
}

extension TextTokenizer {
    public func encode(_ text: String) -> [Int] { encode(text, parseSpecial: true, addSpecial: true) }

    /// The text of tokens, bytes decoded as UTF-8 with U+FFFD for invalid sequences.
    public func decode(_ ids: [Int]) -> String { String(decoding: bytes(ids), as: UTF8.self) }
}

/// The tokenizer a GGUF file names in `tokenizer.ggml.model`.
public enum Tokenizers {
    /// Creators by `tokenizer.ggml.model`.
    static let models: [String: @Sendable (GGUFFile) throws -> any TextTokenizer] = [
        "gpt2": { try BPETokenizer(gguf: $0) },
        "llama": { try SPMTokenizer(gguf: $0) },
    ]

    public static func load(_ gguf: GGUFFile) throws -> any TextTokenizer {
        let name = gguf["tokenizer.ggml.model"]?.string ?? "(none)"
        guard let make = models[name] else {
            throw TokenizerError.unsupported("tokenizer.ggml.model '\(name)' (\(models.keys.sorted().joined(separator: ", ")) are read)")
        }
        return try make(gguf)
    }
}
