import Dispatch
import PipelineTensor

/// Whisper's text decoder: token embeddings plus learned positions, pre-LN blocks with causal
/// self-attention (keys and values cached) and cross-attention over the encoder states, a
/// final LayerNorm, and logits through the transposed token embeddings.
public struct WhisperDecoder: Sendable {
    let embeddings: [Float]
    /// The token embeddings as stored when F16: the output projection reads these.
    let embeddings16: [UInt16]?
    let positions: [Float]
    let layers: [WhisperDecoderLayer]
    let norm: WhisperLayerNorm
    public let config: WhisperConfig

    init(_ file: CT2File, config c: WhisperConfig) throws {
        config = c
        embeddings = try file.floats("decoder/embeddings/weight", shape: [c.vocabSize, c.width])
        embeddings16 = try file.halves("decoder/embeddings/weight", shape: [c.vocabSize, c.width])
        positions = try file.floats("decoder/position_encodings/encodings", shape: [c.textContext, c.width])
        layers = try (0..<c.decoderLayers).map { try WhisperDecoderLayer(file, "decoder/layer_\($0)", config: c) }
        norm = try WhisperLayerNorm(file, "decoder/layer_norm", size: c.width)
    }

    /// A fresh decoding state over `encoded` (`[audioContext, width]`): the cross-attention
    /// keys and values are projected once here and packed per head for
    /// `EncoderOps.attentionRows` (keys transposed, values in panels).
    public func start(encoded: [Float]) -> WhisperDecoderState {
        let c = config, w = c.width, d = w / c.heads
        let layout = WhisperCrossLayout(keys: c.audioContext, headSize: d)
        var kv = [Float](repeating: 0, count: c.audioContext * 2 * w)
        let cross = layers.map { layer -> [Float] in
            encoded.withUnsafeBufferPointer { e in
                kv.withUnsafeMutableBufferPointer { layer.crossKV.apply(e.baseAddress!, rows: c.audioContext, into: $0.baseAddress!) }
            }
            return [Float](unsafeUninitializedCapacity: layout.perHead * c.heads) { packed, initialized in
                kv.withUnsafeBufferPointer { kvp in
                    for h in 0..<c.heads {
                        let head = packed.baseAddress! + h * layout.perHead
                        EncoderOps.packKeysTransposed(
                            kvp.baseAddress! + h * d, ldk: 2 * w, keys: c.audioContext, d: d, into: head, ldkt: layout.ldkt)
                        EncoderOps.packValues(
                            kvp.baseAddress! + w + h * d, ldv: 2 * w, keys: c.audioContext, d: d, into: head + layout.keyCount)
                    }
                }
                initialized = packed.count
            }
        }
        return WhisperDecoderState(config: c, cross: cross)
    }

    /// Feeds `token` at the next position and returns the logits for the one after it.
    public func step(_ token: Int, state: inout WhisperDecoderState) -> [Float] {
        let c = config, w = c.width, pos = state.length
        precondition(pos < c.textContext && token >= 0 && token < c.vocabSize)
        var x = [Float](repeating: 0, count: w)
        for i in 0..<w { x[i] = embeddings[token * w + i] + positions[pos * w + i] }
        let attentionScratch = max(EncoderOps.attentionScratch(ldkt: EncoderOps.packedKeyStride(keys: c.audioContext)), c.textContext)
        var scratch = [Float](repeating: 0, count: 6 * w + c.ffnWidth + attentionScratch)
        x.withUnsafeMutableBufferPointer { xp in
            scratch.withUnsafeMutableBufferPointer { sp in
                for (l, layer) in layers.enumerated() {
                    layer.apply(xp.baseAddress!, position: pos, cache: &state.caches[l], cross: state.cross[l],
                                audioContext: c.audioContext, scratch: sp.baseAddress!)
                }
                norm.apply(xp.baseAddress!, rows: 1, into: xp.baseAddress!)
            }
        }
        state.length += 1
        var logits = [Float](repeating: 0, count: c.vocabSize)
        x.withUnsafeBufferPointer { xp in
            logits.withUnsafeMutableBufferPointer { l in
                if let embeddings16 {
                    // Two halves of the vocabulary at once: this product reads 40 MB per token.
                    let half = (c.vocabSize + 1) / 2
                    let (xs, ls) = (UncheckedSendable(xp.baseAddress!), UncheckedSendable(l.baseAddress!))
                    embeddings16.withUnsafeBufferPointer { e in
                        let es = UncheckedSendable(e.baseAddress!)
                        DispatchQueue.concurrentPerform(iterations: 2) { part in
                            let start = part * half, rows = min(half, c.vocabSize - start)
                            EncoderOps.gemvF16(es.value + start * w, rows: rows, cols: w, x: xs.value, y: ls.value + start)
                        }
                    }
                } else {
                    embeddings.withUnsafeBufferPointer { e in
                        BLAS.gemv(m: c.vocabSize, n: w, a: e.baseAddress!, lda: w, x: xp.baseAddress!, y: l.baseAddress!)
                    }
                }
            }
        }
        return logits
    }
}

/// Where a head's cross-attention keys and values lie in a layer's packed block.
struct WhisperCrossLayout {
    let ldkt: Int
    let keyCount: Int
    let perHead: Int

    init(keys: Int, headSize d: Int) {
        ldkt = EncoderOps.packedKeyStride(keys: keys)
        keyCount = ldkt * d
        perHead = keyCount + EncoderOps.packedValueCount(keys: keys, d: d)
    }
}

/// The per-window decoding state: cached self-attention keys and values per layer, and the
/// cross-attention keys and values of the encoder states (packed per head).
public struct WhisperDecoderState: Sendable {
    /// Tokens fed so far.
    public internal(set) var length = 0
    var caches: [[Float]]
    let cross: [[Float]]

    init(config c: WhisperConfig, cross: [[Float]]) {
        caches = Array(repeating: [Float](repeating: 0, count: c.textContext * 2 * c.width), count: c.decoderLayers)
        self.cross = cross
    }
}

/// One pre-LN decoder block: causal self-attention, cross-attention over the encoder, FFN.
struct WhisperDecoderLayer: Sendable {
    let selfNorm: WhisperLayerNorm
    let selfQKV: WhisperLinear
    let selfOutput: WhisperLinear
    let crossNorm: WhisperLayerNorm
    let crossQuery: WhisperLinear
    let crossKV: WhisperLinear
    let crossOutput: WhisperLinear
    let ffn: WhisperFFN
    let heads: Int

    init(_ file: CT2File, _ prefix: String, config c: WhisperConfig) throws {
        let w = c.width
        selfNorm = try WhisperLayerNorm(file, prefix + "/self_attention/layer_norm", size: w)
        selfQKV = try WhisperLinear(file, prefix + "/self_attention/linear_0", out: 3 * w, in: w, halves: true)
        selfOutput = try WhisperLinear(file, prefix + "/self_attention/linear_1", out: w, in: w, halves: true)
        crossNorm = try WhisperLayerNorm(file, prefix + "/attention/layer_norm", size: w)
        crossQuery = try WhisperLinear(file, prefix + "/attention/linear_0", out: w, in: w, halves: true)
        crossKV = try WhisperLinear(file, prefix + "/attention/linear_1", out: 2 * w, in: w)
        crossOutput = try WhisperLinear(file, prefix + "/attention/linear_2", out: w, in: w, halves: true)
        ffn = try WhisperFFN(file, prefix + "/ffn", width: w, hidden: c.ffnWidth, halves: true)
        heads = c.heads
    }

    /// Runs the block on one token `x[width]` at `position`; the cache holds `[textContext, 2w]`
    /// rows of (key, value).
    func apply(
        _ x: UnsafeMutablePointer<Float>, position: Int, cache: inout [Float], cross: [Float], audioContext: Int,
        scratch: UnsafeMutablePointer<Float>
    ) {
        let w = selfOutput.inFeatures, d = w / heads
        let normed = scratch, qkv = scratch + w, attended = qkv + 3 * w, scores = attended + w
        selfNorm.apply(x, rows: 1, into: normed)
        selfQKV.apply(normed, rows: 1, into: qkv)
        cache.withUnsafeMutableBufferPointer { cp in
            let kv = cp.baseAddress!
            (kv + position * 2 * w).update(from: qkv + w, count: 2 * w)
            TransformerAttention.scaledDotProduct(
                q: qkv, ldq: 3 * w, k: kv, ldk: 2 * w, v: kv + w, ldv: 2 * w, queries: 1, keys: position + 1,
                heads: heads, headSize: d, out: attended, ldo: w, scores: scores)
        }
        selfOutput.apply(attended, rows: 1, into: x, accumulate: true)
        crossNorm.apply(x, rows: 1, into: normed)
        crossQuery.apply(normed, rows: 1, into: qkv)
        // Cross-attention: one query row per head on the packed keys and values.
        let layout = WhisperCrossLayout(keys: audioContext, headSize: d)
        cross.withUnsafeBufferPointer { cp in
            for h in 0..<heads {
                let head = cp.baseAddress! + h * layout.perHead
                EncoderOps.attentionRows(
                    q: qkv + h * d, ldq: w, keysTransposed: head, ldkt: layout.ldkt, values: head + layout.keyCount, rows: 1,
                    keys: audioContext, d: d, scale: 1 / Float(d).squareRoot(), out: attended + h * d, ldo: w, scratch: scores)
            }
        }
        crossOutput.apply(attended, rows: 1, into: x, accumulate: true)
        ffn.apply(x, rows: 1, scratch: scratch)
    }
}

/// A pointer handed to the two workers of one product, each writing its own rows.
private struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
