import PipelineTensor

/// A decoder's two ends: the token embedding that makes its inputs, and the final norm and
/// output matrix that make its logits (the output is the embedding itself where the file
/// ties them).
struct DecoderEmbeddings {
    let tokens: QuantMatrix
    let outputNorm: [Float]
    let output: QuantMatrix

    init(from weights: DecoderWeights, _ c: DecoderShape) throws {
        tokens = try weights.matrix("token_embd.weight", [c.width, c.vocabSize])
        outputNorm = try weights.vector("output_norm.weight", c.width)
        output = try weights.optionalMatrix("output.weight", [c.width, c.vocabSize]) ?? tokens
    }

    /// The last `b.logitRows` positions of `b.x` normed into `b.h` and multiplied into
    /// `logits` (one vocabulary row each), traced as llama.cpp's result_norm. Each row is
    /// what a single step at that position computes, bit for bit.
    func logits(_ b: DecoderBuffers, norm: RMSNorm, session s: DecoderSession, into logits: UnsafeMutablePointer<Float>,
                threads: Int) {
        let rows = b.logitRows, w = outputNorm.count
        norm(b.x + (b.positions - rows) * w, outputNorm, into: b.h, rows: rows)
        s.dump("result_norm", b.h, rows * w)
        b.multiply([(output, logits)], input: b.h, count: rows, threads: threads)
    }
}
