import PipelineTensor

/// One encoder convolution of Silero VAD: kernel 3, padding 1, a stride, bias and ReLU, over
/// a batch of independent sequences laid out time-major, `[sequences][length][channels]`.
///
/// Runs as im2col (each output step gathers its three input steps, zeros outside the
/// sequence) and one `sgemm` with the weights reordered at load from PyTorch's
/// `[out, in, 3]` to `[out, 3, in]`, so a gathered row is three contiguous input steps.
struct SileroVADConv: Sendable {
    static let kernel = 3
    let inChannels: Int
    let outChannels: Int
    let stride: Int
    /// `[out, 3, in]`.
    let weight: [Float]
    let bias: [Float]

    init(_ file: SafetensorsFile, name: String, inChannels: Int, outChannels: Int, stride: Int) throws {
        let k = Self.kernel
        let torch = try file.floats("\(name).weight", shape: [outChannels, inChannels, k])
        var weight = [Float](repeating: 0, count: torch.count)
        for o in 0..<outChannels {
            for i in 0..<inChannels {
                for t in 0..<k { weight[(o * k + t) * inChannels + i] = torch[(o * inChannels + i) * k + t] }
            }
        }
        self.weight = weight
        bias = try file.floats("\(name).bias", shape: [outChannels])
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.stride = stride
    }

    /// The output length for an input of `length` steps.
    func outputLength(_ length: Int) -> Int { (length + 2 - Self.kernel) / stride + 1 }

    /// Convolves `sequences` sequences of `length` steps; returns `[sequences][out length][outChannels]`.
    func callAsFunction(_ x: [Float], sequences: Int, length: Int) -> ([Float], Int) {
        let k = Self.kernel, outLength = outputLength(length)
        let rows = sequences * outLength, columns = k * inChannels
        var gathered = [Float](repeating: 0, count: rows * columns)
        x.withUnsafeBufferPointer { src in
            gathered.withUnsafeMutableBufferPointer { dst in
                for s in 0..<sequences {
                    for t in 0..<outLength {
                        let row = dst.baseAddress! + (s * outLength + t) * columns
                        for tap in 0..<k {
                            let step = t * stride - 1 + tap
                            guard step >= 0, step < length else { continue }
                            (row + tap * inChannels).update(
                                from: src.baseAddress! + (s * length + step) * inChannels, count: inChannels)
                        }
                    }
                }
            }
        }
        var y = [Float](repeating: 0, count: rows * outChannels)
        gathered.withUnsafeBufferPointer { a in
            weight.withUnsafeBufferPointer { w in
                bias.withUnsafeBufferPointer { b in
                    y.withUnsafeMutableBufferPointer { out in
                        BLAS.gemmTransposedB(
                            m: rows, n: outChannels, k: columns, a: a.baseAddress!, lda: columns, b: w.baseAddress!,
                            ldb: columns, c: out.baseAddress!, ldc: outChannels)
                        for r in 0..<rows {
                            let line = out.baseAddress! + r * outChannels
                            for c in 0..<outChannels { line[c] = max(line[c] + b[c], 0) }
                        }
                    }
                }
            }
        }
        return (y, outLength)
    }
}
