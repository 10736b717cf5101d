import PipelineTensor

/// A weight matrix stored in a GGUF file, used in place: rows of `type` blocks.
/// `rows` outputs × `columns` inputs (ggml's ne = [columns, rows]).
public struct QuantMatrix: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let columns: Int
    let data: UnsafeRawPointer
    let rowBytes: Int
    /// The rows eight at a time for the fast matrix–vector kernels, where they exist; the
    /// file's own pages of the tensor are then given back (embedding lookups read them again).
    let groups: RowGroups?

    init(_ info: GGUFTensorInfo, in file: GGUFFile) {
        type = info.type
        columns = info.dimensions[0]
        rows = info.rowCount
        data = file.data(of: info).baseAddress!
        rowBytes = info.rowBytes
        // The file's pages are given back chunk by chunk as they are copied, so a large matrix
        // (Gemma's 178 MB tied embedding) is never in memory twice.
        groups = RowGroups(type: type, rows: data, rowBytes: rowBytes, count: rows, columns: columns,
                           copied: { file.releasePages($0) })
    }

    /// The activation format this matrix multiplies with.
    var activationFormat: QuantizedDot.ActivationFormat { QuantizedDot.activationFormat(for: type)! }

    /// y = W x, activations quantized once to the weight type's companion format.
    public func multiply(_ x: [Float], threads: Int = 1) -> [Float] {
        var y = [Float](repeating: 0, count: rows)
        if type == .f32 {
            y.withUnsafeMutableBufferPointer { out in
                for r in 0..<rows {
                    let row = (data + r * rowBytes).assumingMemoryBound(to: Float.self)
                    var s: Float = 0
                    for c in 0..<columns { s += row[c] * x[c] }
                    out[r] = s
                }
            }
            return y
        }
        let activations = x.withUnsafeBufferPointer { QuantizedDot.quantize($0.baseAddress!, count: columns, as: activationFormat) }
        activations.withUnsafeBytes { a in
            y.withUnsafeMutableBufferPointer { out in
                MatVec.run([(self, out.baseAddress!)], activations: a.baseAddress!, threads: threads)
            }
        }
        return y
    }

    /// One row as floats (embedding lookup).
    public func row(_ r: Int) throws -> [Float] {
        try Dequantize.row(type, data + r * rowBytes, count: columns)
    }
}

/// Matrix–vector products of several matrices that share one quantized activation vector
/// (Q, K and V; gate and up), their rows spread over the threads in one dispatch. Each output
/// element is one row's dot product, so the split never changes a result.
enum MatVec {
    /// `columns` activation vectors `activationStride` bytes apart; job outputs for column c
    /// start at `out + c * outputStride`.
    static func run(_ jobs: [(QuantMatrix, UnsafeMutablePointer<Float>)], activations: UnsafeRawPointer, threads: Int,
                    columns: Int = 1, activationStride: Int = 0, outputStride: Int = 0) {
        let total = jobs.reduce(0) { $0 + $1.0.rows }
        let work = Work(jobs: jobs.map { Work.Job(matrix: $0.0, out: $0.1) }, activations: activations,
                        columns: columns, activationStride: activationStride, outputStride: outputStride)
        let chunks = max(1, min(threads, total / 64))
        if chunks == 1 {
            work.run(0..<total)
            return
        }
        // Contiguous ranges, cut on 16-row boundaries.
        let per = ((total + chunks - 1) / chunks + 15) / 16 * 16
        WorkerPool.run(tasks: chunks) { c in
            work.run((c * per)..<min(total, (c + 1) * per))
        }
    }

    private struct Work: @unchecked Sendable {
        struct Job {
            let matrix: QuantMatrix
            let out: UnsafeMutablePointer<Float>
        }
        let jobs: [Job]
        let activations: UnsafeRawPointer
        let columns: Int
        let activationStride: Int
        let outputStride: Int

        /// Runs global rows `range` (rows of the jobs laid end to end).
        func run(_ range: Range<Int>) {
            var base = 0
            var results = [Float](repeating: 0, count: columns > 1 ? columns : 0)  // only the per-row fallback uses it
            for job in jobs {
                let m = job.matrix
                let lo = max(range.lowerBound, base), hi = min(range.upperBound, base + m.rows)
                if lo < hi, let groups = m.groups,
                   groups.multiply(rows: (lo - base)..<(hi - base), activations, stride: activationStride, columns: columns,
                                   into: job.out + (lo - base), outputStride: outputStride) {
                    base += m.rows
                    continue
                }
                // One column: Q5_0 has a matrix–vector kernel where the AVX-512 Gemma kernels run
                // (false elsewhere, and the rows take the single dot below).
                if lo < hi, columns > 1 || m.type == .q5_0,
                   QuantizedDot.fastMatmulColumns(m.type, m.data + (lo - base) * m.rowBytes, rowBytes: m.rowBytes, rows: hi - lo,
                                                  activations, stride: activationStride, columns: columns, count: m.columns,
                                                  into: job.out + (lo - base), outputStride: outputStride) {
                    base += m.rows
                    continue
                }
                if lo < hi {
                    for r in (lo - base)..<(hi - base) {
                        let row = m.data + r * m.rowBytes
                        if columns == 1 {
                            job.out[r] = QuantizedDot.fastDot(m.type, row, activations, count: m.columns)
                            continue
                        }
                        let done = results.withUnsafeMutableBufferPointer {
                            QuantizedDot.fastDotColumns(m.type, row, activations, stride: activationStride, columns: columns,
                                                        count: m.columns, into: $0.baseAddress!)
                        }
                        for c in 0..<columns {
                            job.out[c * outputStride + r] = done
                                ? results[c]
                                : QuantizedDot.fastDot(m.type, row, activations + c * activationStride, count: m.columns)
                        }
                    }
                }
                base += m.rows
            }
        }
    }
}
