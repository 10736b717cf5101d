import Dispatch
import PipelineTensor

/// A weight matrix stored in a GGUF file, used in place: rows of `type` blocks.
/// `rows` outputs × `columns` inputs (ggml's ne = [columns, rows]).
public struct QuantMatrix: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let columns: Int
    let data: UnsafeRawPointer
    let rowBytes: Int

    init(_ info: GGUFTensorInfo, in file: GGUFFile) {
        type = info.type
        columns = info.dimensions[0]
        rows = info.rowCount
        data = file.data(of: info).baseAddress!
        rowBytes = info.rowBytes
    }

    /// y = W x, activations quantized once to the weight type's companion format; rows are
    /// spread over `threads` Dispatch workers.
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
        let format = QuantizedDot.activationFormat(for: type)!
        let activations = x.withUnsafeBufferPointer { QuantizedDot.quantize($0.baseAddress!, count: columns, as: format) }
        activations.withUnsafeBytes { a in
            y.withUnsafeMutableBufferPointer { out in
                let job = RowJob(type: type, data: data, rowBytes: rowBytes, columns: columns, activations: a.baseAddress!,
                    out: out.baseAddress!)
                let chunks = max(1, min(threads, rows / 64))
                let per = (rows + chunks - 1) / chunks
                let rows = self.rows
                if chunks == 1 {
                    job.run(0..<rows)
                } else {
                    DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                        job.run((chunk * per)..<min(rows, (chunk + 1) * per))
                    }
                }
            }
        }
        return y
    }

    /// One row as floats (embedding lookup).
    public func row(_ r: Int) throws -> [Float] {
        try Dequantize.row(type, data + r * rowBytes, count: columns)
    }
}

/// The pointers one matrix-vector product shares between its workers (each writes its own rows).
private struct RowJob: @unchecked Sendable {
    let type: GGMLType
    let data: UnsafeRawPointer
    let rowBytes: Int
    let columns: Int
    let activations: UnsafeRawPointer
    let out: UnsafeMutablePointer<Float>

    func run(_ range: Range<Int>) {
        for r in range { out[r] = QuantizedDot.fastDot(type, data + r * rowBytes, activations, count: columns) }
    }
}
