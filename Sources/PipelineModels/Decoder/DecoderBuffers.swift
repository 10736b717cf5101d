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

    /// Runs `body` on the rows `0..<rows` split into contiguous ranges over the worker pool when
    /// there are enough of them to pay for a dispatch (a prompt chunk), else on the caller. For
    /// the row-wise steps between the matrix products (norms, RoPE, residual adds, activations,
    /// quantizing the input): each row's values are the same whichever thread computes it.
    static func forRows(_ rows: Int, threads: Int, _ body: (Range<Int>) -> Void) {
        let tasks = min(threads, rows / minimumRowsPerTask)
        if tasks <= 1 {
            body(0..<rows)
            return
        }
        WorkerPool.run(tasks: tasks) { t in body(rows * t / tasks..<rows * (t + 1) / tasks) }
    }

    /// Below this many rows per task a row-wise step stays on the caller (a dispatch costs a few
    /// microseconds; one row of a norm or RoPE, less).
    static let minimumRowsPerTask = 4

    /// Adds `p` (all positions) to the residual stream `x`.
    func addToResidual(_ p: UnsafeMutablePointer<Float>, threads: Int) {
        let x = self.x, w = width
        Self.forRows(positions, threads: threads) { rows in
            for i in rows.lowerBound * w..<rows.upperBound * w { x[i] = p[i] + x[i] }
        }
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
                let activations = self.activations, columns = m.columns
                Self.forRows(n, threads: threads) { rows in
                    for t in rows {
                        QuantizedDot.fastQuantize(input + t * columns, count: columns, as: format, into: activations + t * stride)
                    }
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
