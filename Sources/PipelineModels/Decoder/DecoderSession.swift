import PipelineTensor

/// An architecture's forward pass, as `DecoderSession` drives it: the session owns the
/// sequence (position, KV cache, buffers, chunking), the model what its layers do.
protocol DecoderForward: AnyObject, Sendable {
    /// The input vector of a token id already checked against the vocabulary: its embedding
    /// row, scaled where the architecture scales it.
    func embedding(of token: Int) throws -> [Float]
    /// Runs `b.positions` consecutive positions from `s.position`, their inputs in `b.x`, through
    /// every layer (storing their keys and values in `s.cache`), each operation in llama.cpp's
    /// order and the same for every position whatever the chunk; then, when `logits` is given,
    /// the last position's logits into it.
    func forward(_ b: DecoderBuffers, session s: DecoderSession, logits: UnsafeMutablePointer<Float>?)
}

/// One sequence of a GGUF decoder (`LlamaModel`, `Gemma3Model`): its KV cache, the buffers a
/// step reuses, and the steps that extend it, single or a prompt in chunks.
public final class DecoderSession: LanguageModelSession {
    /// Positions a prompt chunk holds: each weight row is read once per chunk.
    static let chunkSize = 32
    let model: any DecoderForward
    let config: any DecoderDimensions
    public private(set) var position = 0
    let cache: KVCache
    /// One position's buffers, reused by every step.
    let buffers: DecoderBuffers
    let logits: UnsafeMutablePointer<Float>
    /// Receives named intermediates (llama.cpp's callback names) when set: for debugging parity.
    /// Prompts are then stepped one token at a time.
    public var trace: ((String, [Float]) -> Void)?

    init(model: any DecoderForward, config: some DecoderDimensions) {
        self.model = model
        self.config = config
        cache = KVCache(layers: config.layers, width: config.kvWidth, headSize: config.headSize)
        buffers = DecoderBuffers(config, positions: 1)
        logits = .allocate(capacity: config.vocabSize)
        logits.initialize(repeating: 0, count: config.vocabSize)
    }

    deinit { logits.deallocate() }

    /// Hands `count` floats from `p` to `trace` under `name`, when a trace is set.
    func dump(_ name: @autoclosure () -> String, _ p: UnsafeMutablePointer<Float>, _ count: Int) {
        if let trace { trace(name(), Array(UnsafeBufferPointer(start: p, count: count))) }
    }

    /// Feeds one token at the next position and returns the logits for the token after it.
    public func step(_ token: Int) throws -> [Float] {
        try step(embedding: try embedding(of: token))
    }

    /// Feeds an input vector in place of a token's embedding (`width` floats): the way other
    /// modalities' features (a fusion node's projected patches) enter the model.
    public func step(embedding: [Float]) throws -> [Float] {
        guard embedding.count == config.width else {
            throw ModelError.badShape(tensor: "input embedding", expected: [config.width], got: [embedding.count])
        }
        run([embedding], in: buffers, logits: true)
        return Array(UnsafeBufferPointer(start: logits, count: config.vocabSize))
    }

    /// Feeds the prompt and returns the logits after its last token. Tokens go through the
    /// layers in chunks, each weight row read once per chunk; every result is bit-identical
    /// to feeding them one at a time, and logits are computed for the last token only.
    public func prefill(_ tokens: [Int]) throws -> [Float] {
        guard tokens.count > 1, trace == nil else {
            var logits: [Float] = []
            for token in tokens { logits = try step(token) }
            return logits
        }
        var start = 0
        while start < tokens.count {
            let end = min(tokens.count, start + Self.chunkSize)
            let inputs = try tokens[start..<end].map(embedding(of:))
            run(inputs, in: DecoderBuffers(config, positions: inputs.count), logits: end == tokens.count)
            start = end
        }
        return Array(UnsafeBufferPointer(start: logits, count: config.vocabSize))
    }

    private func embedding(of token: Int) throws -> [Float] {
        guard (0..<config.vocabSize).contains(token) else {
            throw ModelError.badValue(key: "token", why: "id \(token) is outside the vocabulary (0..<\(config.vocabSize))")
        }
        return try model.embedding(of: token)
    }

    /// `inputs` (one per position, `width` floats each) at the next positions.
    private func run(_ inputs: [[Float]], in b: DecoderBuffers, logits wantLogits: Bool) {
        let w = config.width
        if position + inputs.count > cache.capacity { cache.grow(to: position + inputs.count, keeping: position) }
        for (t, input) in inputs.enumerated() {
            input.withUnsafeBufferPointer { (b.x + t * w).update(from: $0.baseAddress!, count: w) }
        }
        model.forward(b, session: self, logits: wantLogits ? logits : nil)
        position += inputs.count
    }
}
