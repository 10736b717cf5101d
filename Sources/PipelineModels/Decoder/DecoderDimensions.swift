/// The sizes every decoder config has (`LlamaConfig`, `Gemma3Config`): what the shared
/// session, KV cache and buffers are laid out by.
protocol DecoderDimensions: Sendable {
    var layers: Int { get }
    var width: Int { get }
    var heads: Int { get }
    var kvHeads: Int { get }
    var headSize: Int { get }
    var ffnWidth: Int { get }
    var vocabSize: Int { get }
}

extension DecoderDimensions {
    /// Floats of one position's queries (heads × head size).
    var queryWidth: Int { heads * headSize }
    /// Floats of one position's keys or values (KV heads × head size).
    var kvWidth: Int { kvHeads * headSize }
}
