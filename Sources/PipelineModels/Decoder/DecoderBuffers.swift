import PipelineTensor

/// The working buffers of one pass of `positions` consecutive positions through a decoder:
/// each holds one row per position (the residual stream `x`, the normed input `h`, queries,
/// keys, values, attention output, projections and FFN activations), plus the scratch for
/// quantized activations. A session keeps one for single steps; a prompt chunk gets its own.
final class DecoderBuffers {
    let positions: Int
    /// How many of the last positions get logits (one row of the vocabulary each) when a
    /// forward pass is asked for logits: 1 for generation, every position for scoring.
    var logitRows = 1
    /// Floats of one position of `x`, `h`, `projected` and `down`.
    let width: Int
    let x, h, q, k, v, attention, projected, gate, up, act, down: UnsafeMutablePointer<Float>
    private let activations: UnsafeMutableRawPointer

    init(_ c: DecoderShape, positions n: Int) {
        positions = n
        width = c.width
        func buffer(_ count: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: count)
            p.initialize(repeating: 0, count: count)
            return p
        }
        x = buffer(n * c.width); h = buffer(n * c.width); projected = buffer(n * c.width); down = buffer(n * c.width)
        q = buffer(n * c.queryWidth); attention = buffer(n * c.queryWidth); k = buffer(n * c.kvWidth); v = buffer(n * c.kvWidth)
        gate = buffer(n * c.ffnWidth); up = buffer(n * c.ffnWidth); act = buffer(n * c.ffnWidth)
        // Enough for any input width quantized to any activation format (Q8_0, Q8_1, Q8_K).
        let widest = max(c.width, c.ffnWidth, c.queryWidth)
        activations = .allocate(byteCount: n * (widest / 32 * 36 + widest / 256 * 292 + 292), alignment: 64)
    }

    deinit {
        for p in [x, h, q, k, v, attention, projected, gate, up, act, down] { p.deallocate() }
        activations.deallocate()
    }

    /// Adds `p` (all positions) to the residual stream `x`.
    func addToResidual(_ p: UnsafeMutablePointer<Float>) {
        for i in 0..<(positions * width) { x[i] = p[i] + x[i] }
    }

    /// out = W · input for each (W, out) of `jobs`, over `count` positions: `input` holds one
    /// row of the matrices' column count per position, each `out` one row of its matrix's row
    /// count. The input is quantized once per activation format, not once per matrix. One
    /// position runs the matrices of a format in one dispatch (Q, K and V together); several
    /// run each matrix over all positions, every weight row read once for the chunk.
    func multiply(_ jobs: [(QuantMatrix, UnsafeMutablePointer<Float>)], input: UnsafeMutablePointer<Float>, count n: Int,
                  threads: Int) {
        var quantized: QuantizedDot.ActivationFormat?
        var i = 0
        while i < jobs.count {
            let m = jobs[i].0, format = m.activationFormat
            let stride = m.columns / format.blockSize * format.blockBytes
            if format != quantized {
                for t in 0..<n {
                    QuantizedDot.fastQuantize(input + t * m.columns, count: m.columns, as: format, into: activations + t * stride)
                }
                quantized = format
            }
            if n > 1 {
                MatVec.run([jobs[i]], activations: activations, threads: threads, columns: n, activationStride: stride,
                           outputStride: m.rows)
                i += 1
                continue
            }
            var end = i + 1
            while end < jobs.count, jobs[end].0.activationFormat == format { end += 1 }
            MatVec.run(i == 0 && end == jobs.count ? jobs : Array(jobs[i..<end]), activations: activations, threads: threads)
            i = end
        }
    }
}
