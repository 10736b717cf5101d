/// A decoder's hyper-parameters: the shared shape and what the architecture adds. The
/// shape's sizes read as the config's own (`config.width`).
@dynamicMemberLookup
protocol DecoderConfig: Sendable {
    var shape: DecoderShape { get }
}

extension DecoderConfig {
    subscript<T>(dynamicMember path: KeyPath<DecoderShape, T>) -> T { shape[keyPath: path] }
}

/// A GGUF decoder architecture as `DecoderSession` drives it: the session owns the sequence
/// (position, KV cache, buffers, chunking), the model what its layers do. Conforming also
/// gives the model its `LanguageModel` sizes and sessions.
protocol DecoderModel: LanguageModel, Sendable where Session == DecoderSession {
    associatedtype Config: DecoderConfig
    var config: Config { get }
    /// The input vector of a token id already checked against the vocabulary: its embedding
    /// row, scaled where the architecture scales it.
    func embedding(of token: Int) throws -> [Float]
    /// Runs `b.positions` consecutive positions from `s.position`, their inputs in `b.x`, through
    /// every layer (storing their keys and values in `s.cache`), each operation in llama.cpp's
    /// order and the same for every position whatever the chunk; then, when `logits` is given,
    /// the last position's logits into it.
    func forward(_ b: DecoderBuffers, session s: DecoderSession, logits: UnsafeMutablePointer<Float>?)
}

extension DecoderModel {
    public var contextLength: Int { config.shape.contextLength }
    public var width: Int { config.shape.width }
    public var vocabSize: Int { config.shape.vocabSize }
    public func makeSession() -> DecoderSession { DecoderSession(model: self) }
}
