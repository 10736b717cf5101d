import PipelineTensor

/// One sequence of a GGUF decoder (`LlamaModel`, `Gemma3Model`): its KV cache, the buffers a
/// step reuses, and the steps that extend it, single or a prompt in chunks.
public final class DecoderSession: LanguageModelSession {
    /// Positions a prompt chunk holds: each weight row is read once per chunk.
    static let chunkSize = 32
    let model: any DecoderModel
    let config: DecoderShape
    public private(set) var position = 0
    let cache: KVCache
    /// One position's buffers, reused by every step.
    let buffers: DecoderBuffers
    let logits: UnsafeMutablePointer<Float>
    /// Receives named intermediates (llama.cpp's callback names) when set: for debugging parity.
    /// Prompts are then stepped one token at a time.
    public var trace: ((String, [Float]) -> Void)?

    init(model: some DecoderModel) {
        let config = model.config.shape
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
        run([embedding], in: buffers, logits: logits)
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
            run(inputs, in: DecoderBuffers(config, positions: inputs.count), logits: end == tokens.count ? logits : nil)
            start = end
        }
        return Array(UnsafeBufferPointer(start: logits, count: config.vocabSize))
    }

    /// Feeds `tokens` and returns the logits after each of them (row i: the logits for the
    /// token after tokens[i]), bit-identical to stepping them one at a time: how a list of
    /// choices is scored in one pass per choice. Chunked like `prefill`.
    public func prefillAll(_ tokens: [Int]) throws -> [[Float]] {
        guard trace == nil else { return try tokens.map(step) }
        let vocab = config.vocabSize
        var rows: [[Float]] = []
        rows.reserveCapacity(tokens.count)
        var start = 0
        while start < tokens.count {
            let end = min(tokens.count, start + Self.chunkSize)
            let inputs = try tokens[start..<end].map(embedding(of:))
            let b = DecoderBuffers(config, positions: inputs.count)
            b.logitRows = inputs.count
            let out = UnsafeMutablePointer<Float>.allocate(capacity: inputs.count * vocab)
            defer { out.deallocate() }
            run(inputs, in: b, logits: out)
            for t in 0..<inputs.count { rows.append(Array(UnsafeBufferPointer(start: out + t * vocab, count: vocab))) }
            start = end
        }
        return rows
    }

    /// A copy of the KV cache of every position fed so far.
    public func snapshot() -> KVSnapshot { cache.snapshot(positions: position) }

    /// Replaces this session's state with a snapshot's: it continues as the session that was
    /// snapshotted did after its `positions` tokens (the logits of the last one are not kept).
    public func restore(_ snapshot: KVSnapshot) throws {
        guard snapshot.width == config.kvWidth, snapshot.keys.count == config.layers else {
            throw ModelError.badShape(tensor: "KV snapshot", expected: [config.layers, config.kvWidth],
                                      got: [snapshot.keys.count, snapshot.width])
        }
        cache.restore(snapshot)
        position = snapshot.positions
    }

    private func embedding(of token: Int) throws -> [Float] {
        guard (0..<config.vocabSize).contains(token) else {
            throw ModelError.badValue(key: "token", why: "id \(token) is outside the vocabulary (0..<\(config.vocabSize))")
        }
        return try model.embedding(of: token)
    }

    /// `inputs` (one per position, `width` floats each) at the next positions.
    private func run(_ inputs: [[Float]], in b: DecoderBuffers, logits out: UnsafeMutablePointer<Float>?) {
        let w = config.width
        if position + inputs.count > cache.capacity { cache.grow(to: position + inputs.count, keeping: position) }
        for (t, input) in inputs.enumerated() {
            input.withUnsafeBufferPointer { (b.x + t * w).update(from: $0.baseAddress!, count: w) }
        }
        model.forward(b, session: self, logits: out)
        position += inputs.count
    }
}
