/// The sizes every GGUF decoder has, read from its `<architecture>.*` keys and checked, so a
/// bad file is refused by key at load: what the shared session, KV cache, buffers and
/// weights are laid out by.
public struct DecoderShape: Sendable, Equatable {
    public let layers: Int
    public let width: Int
    public let heads: Int
    public let kvHeads: Int
    public let headSize: Int
    public let ffnWidth: Int
    /// Positions the model was trained for.
    public let contextLength: Int
    public let vocabSize: Int

    /// Floats of one position's queries (heads × head size).
    public var queryWidth: Int { heads * headSize }
    /// Floats of one position's keys or values (KV heads × head size).
    public var kvWidth: Int { kvHeads * headSize }

    /// The largest width, head count, head size or FFN width accepted (16 Mi floats); the
    /// largest published models stay far below it. Every size a buffer, cache or weight list
    /// is laid out by comes from a file field, so each is bounded before anything is sized by it.
    static let maxDimension = 1 << 24
    /// The most blocks accepted: per-block lists are sized by the count before any block's
    /// tensors are looked up (the largest published decoders have about 128).
    static let maxLayers = 4096
    /// The longest context accepted (16 Mi positions): the KV cache grows with use, but the
    /// value bounds prompt checks and arithmetic on positions.
    static let maxContext = 1 << 24

    init(_ gguf: GGUFFile, architecture arch: String) throws {
        func value(_ key: String) -> GGUFValue? { gguf["\(arch).\(key)"] }
        func bounded(_ key: String, _ v: Int, max limit: Int) throws -> Int {
            guard v > 0 else { throw ModelError.badValue(key: "\(arch).\(key)", why: "must be positive, got \(v)") }
            guard v <= limit else { throw ModelError.badValue(key: "\(arch).\(key)", why: "\(v) is more than \(limit)") }
            return v
        }
        func int(_ key: String, max limit: Int = DecoderShape.maxDimension) throws -> Int {
            guard let v = value(key)?.int else { throw ModelError.missingKey("\(arch).\(key)") }
            return try bounded(key, v, max: limit)
        }
        layers = try int("block_count", max: Self.maxLayers)
        let width = try int("embedding_length")
        let heads = try int("attention.head_count")
        let kvHeads = value("attention.head_count_kv")?.int ?? heads
        let headSize = value("attention.key_length")?.int ?? width / heads
        (self.width, self.heads, self.kvHeads, self.headSize) = (width, heads, kvHeads, headSize)
        if let v = value("attention.value_length")?.int, v != headSize {
            throw ModelError.badValue(key: "\(arch).attention.value_length", why: "\(v) differs from key_length \(headSize)")
        }
        // The attention kernels take heads in whole 32-float blocks.
        guard kvHeads > 0, heads % kvHeads == 0, headSize > 0, headSize <= Self.maxDimension, headSize % 32 == 0 else {
            throw ModelError.badValue(key: "\(arch).attention", why: "\(heads) heads, \(kvHeads) KV heads of size \(headSize)")
        }
        guard heads * headSize <= Self.maxDimension else {
            throw ModelError.badValue(key: "\(arch).attention", why: "\(heads) heads of size \(headSize) exceed \(Self.maxDimension) floats")
        }
        ffnWidth = try int("feed_forward_length")
        contextLength = try int("context_length", max: Self.maxContext)
        vocabSize = gguf["tokenizer.ggml.tokens"]?.array?.count ?? 0
    }
}
