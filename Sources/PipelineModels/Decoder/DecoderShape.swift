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

    init(_ gguf: GGUFFile, architecture arch: String) throws {
        func value(_ key: String) -> GGUFValue? { gguf["\(arch).\(key)"] }
        func int(_ key: String) throws -> Int {
            guard let v = value(key)?.int else { throw ModelError.missingKey("\(arch).\(key)") }
            guard v > 0 else { throw ModelError.badValue(key: "\(arch).\(key)", why: "must be positive, got \(v)") }
            return v
        }
        layers = try int("block_count")
        width = try int("embedding_length")
        heads = try int("attention.head_count")
        kvHeads = value("attention.head_count_kv")?.int ?? heads
        headSize = value("attention.key_length")?.int ?? width / heads
        if let v = value("attention.value_length")?.int, v != headSize {
            throw ModelError.badValue(key: "\(arch).attention.value_length", why: "\(v) differs from key_length \(headSize)")
        }
        // The attention kernels take heads in whole 32-float blocks.
        guard kvHeads > 0, heads % kvHeads == 0, headSize > 0, headSize % 32 == 0 else {
            throw ModelError.badValue(key: "\(arch).attention", why: "\(heads) heads, \(kvHeads) KV heads of size \(headSize)")
        }
        ffnWidth = try int("feed_forward_length")
        contextLength = try int("context_length")
        vocabSize = gguf["tokenizer.ggml.tokens"]?.array?.count ?? 0
    }
}
