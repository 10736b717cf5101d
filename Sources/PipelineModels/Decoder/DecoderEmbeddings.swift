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

    /// The last position of `b.x` normed into `b.h` and multiplied into `logits`, traced as
    /// llama.cpp's result_norm.
    func logits(_ b: DecoderBuffers, norm: RMSNorm, session s: DecoderSession, into logits: UnsafeMutablePointer<Float>,
                threads: Int) {
        norm(b.x + (b.positions - 1) * outputNorm.count, outputNorm, into: b.h)
        s.dump("result_norm", b.h, outputNorm.count)
        b.multiply([(output, logits)], input: b.h, count: 1, threads: threads)
    }
}
