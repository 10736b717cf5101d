import PipelineTensor

/// The tensors every llama-like block has, by llama.cpp's GGUF names: the norm before
/// attention, the Q, K, V and output projections, the norm before the FFN, and the gated
/// FFN's gate, up and down matrices. An architecture's extra tensors sit beside it.
struct DecoderBlock {
    let attnNorm: [Float]
    let wq, wk, wv, wo: QuantMatrix
    let ffnNorm: [Float]
    let gate, up, down: QuantMatrix

    /// Block `i`'s tensors, each checked for the shape `c` gives it.
    init(_ i: Int, from weights: DecoderWeights, _ c: DecoderShape) throws {
        let w = c.width, qw = c.queryWidth, kv = c.kvWidth, ff = c.ffnWidth
        attnNorm = try weights.vector("blk.\(i).attn_norm.weight", w)
        wq = try weights.matrix("blk.\(i).attn_q.weight", [w, qw])
        wk = try weights.matrix("blk.\(i).attn_k.weight", [w, kv])
        wv = try weights.matrix("blk.\(i).attn_v.weight", [w, kv])
        wo = try weights.matrix("blk.\(i).attn_output.weight", [qw, w])
        ffnNorm = try weights.vector("blk.\(i).ffn_norm.weight", w)
        gate = try weights.matrix("blk.\(i).ffn_gate.weight", [w, ff])
        up = try weights.matrix("blk.\(i).ffn_up.weight", [w, ff])
        down = try weights.matrix("blk.\(i).ffn_down.weight", [ff, w])
    }
}
