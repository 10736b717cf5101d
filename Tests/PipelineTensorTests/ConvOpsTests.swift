import Foundation
import Testing

@testable import PipelineTensor

/// The convolution kernels (CKernels) against direct Double-precision references.
@Suite("Convolution kernels")
struct ConvOpsTests {
    @Test("TF SAME padding puts the odd pixel after", arguments: [
        (224, 3, 2, 112, 0, 1), (112, 5, 2, 56, 1, 3), (56, 3, 1, 56, 1, 2), (7, 5, 1, 7, 2, 4), (1, 3, 2, 1, 1, 2),
        (15, 3, 2, 8, 1, 2),
    ])
    func samePadding(_ c: (Int, Int, Int, Int, Int, Int)) {
        let p = ConvOps.samePadding(input: c.0, kernel: c.1, stride: c.2)
        #expect(p.output == c.3 && p.before == c.4 && p.total == c.5)
    }

    @Test("depthwise matches the reference", arguments: [
        (3, 1, 9, 7), (3, 2, 9, 7), (5, 1, 6, 11), (5, 2, 12, 8), (5, 2, 1, 1), (3, 2, 2, 3), (3, 2, 10, 9), (7, 3, 11, 8),
    ])
    func depthwise(_ c: (Int, Int, Int, Int)) {
        let (kernel, stride, height, width) = c
        let (channels, images) = (5, 3)
        let input = EncoderOpsTests.random(channels * images * height * width, seed: 11)
        let weight = EncoderOpsTests.random(channels * kernel * kernel, seed: 12, scale: 1)
        let expected = ConvOps.referenceDepthwise(
            input, channels: channels, images: images, height: height, width: width, weight: weight, kernel: kernel,
            stride: stride)
        let bias: [Float] = [0.5, -1, 2, 0, 7]
        let plane = expected.count / channels
        let activated = expected.indices.map { min(max(expected[$0] + bias[$0 / plane], 0), 6) }
        // (The portable twin is the same C loop compiled without AVX2; forcing it here would
        // race with the bit-exact llama tests running alongside.)
        for threads in [1, 2, 4] {
            var out = [Float](repeating: .nan, count: expected.count)
            var fused = out
            input.withUnsafeBufferPointer { i in
                weight.withUnsafeBufferPointer { w in
                    out.withUnsafeMutableBufferPointer { o in
                        ConvOps.depthwise(
                            i.baseAddress!, channels: channels, images: images, height: height, width: width,
                            weight: w.baseAddress!, kernel: kernel, stride: stride, output: o.baseAddress!, threads: threads)
                    }
                    bias.withUnsafeBufferPointer { b in
                        fused.withUnsafeMutableBufferPointer { o in
                            ConvOps.depthwise(
                                i.baseAddress!, channels: channels, images: images, height: height, width: width,
                                weight: w.baseAddress!, kernel: kernel, stride: stride, bias: b.baseAddress!, relu6: true,
                                output: o.baseAddress!, threads: threads)
                        }
                    }
                }
            }
            #expect(EncoderOpsTests.maxDiff(out, expected) < 1e-5, "threads \(threads)")
            #expect(EncoderOpsTests.maxDiff(fused, activated) < 1e-5, "fused, threads \(threads)")
        }
    }

    /// (outChannels, depth, length): rows off the 4-row groups, columns off the 24-column tiles,
    /// one column, and enough columns for several chunks.
    @Test("pointwise convolution with bias, residual and ReLU6 matches the reference, SIMD and portable",
          arguments: [(4, 16, 24), (6, 5, 1), (13, 27, 50), (24, 96, 100), (8, 1152, 60), (40, 24, 3200)])
    func pointwise(_ c: (Int, Int, Int)) {
        let (m, k, n) = c
        let input = EncoderOpsTests.random(k * n, seed: 31, scale: 1)
        let weight = EncoderOpsTests.random(m * k, seed: 32, scale: 1 / Float(k).squareRoot())
        let bias = EncoderOpsTests.random(m, seed: 33, scale: 2), skip = EncoderOpsTests.random(m * n, seed: 34, scale: 3)
        let packed = ConvOps.packPointwise(weight, outChannels: m, depth: k)
        for (withSkip, relu6) in [(false, false), (true, false), (false, true), (true, true)] {
            let expected = ConvOps.referencePointwise(
                input, depth: k, length: n, weight: weight, outChannels: m, bias: bias, skip: withSkip ? skip : nil, relu6: relu6)
            func run(threads: Int) -> [Float] {
                var out = [Float](repeating: .nan, count: m * n)
                skip.withUnsafeBufferPointer { sk in
                    ConvOps.pointwise(
                        packed: packed, outChannels: m, depth: k, input: input, length: n, bias: bias,
                        skip: withSkip ? sk.baseAddress! : nil, relu6: relu6, output: &out, threads: threads)
                }
                return out
            }
            for threads in [1, 2, 3] {
                #expect(EncoderOpsTests.maxDiff(run(threads: threads), expected) < 2e-5, "skip \(withSkip) relu6 \(relu6) threads \(threads)")
            }
            // One thread runs every task on the caller, where the portable kernels can be forced.
            let portable = QuantizedDot.withPortableKernels { run(threads: 1) }
            #expect(EncoderOpsTests.maxDiff(portable, expected) < 2e-5, "portable, skip \(withSkip) relu6 \(relu6)")
        }
    }

    @Test("im2col + GEMM matches a direct convolution", arguments: [(3, 2, 9, 10), (3, 1, 5, 4), (5, 2, 7, 7)])
    func dense(_ c: (Int, Int, Int, Int)) {
        let (kernel, stride, height, width) = c
        let (channels, images, outChannels) = (3, 2, 4)
        let input = EncoderOpsTests.random(channels * images * height * width, seed: 21)
        let weight = EncoderOpsTests.random(outChannels * channels * kernel * kernel, seed: 22, scale: 1)
        let expected = ConvOps.referenceConv(
            input, channels: channels, images: images, height: height, width: width, weight: weight,
            outChannels: outChannels, kernel: kernel, stride: stride)
        let depth = channels * kernel * kernel, length = expected.count / outChannels
        var cols = [Float](repeating: .nan, count: depth * length)
        var out = [Float](repeating: .nan, count: expected.count)
        input.withUnsafeBufferPointer { i in
            cols.withUnsafeMutableBufferPointer { cb in
                ConvOps.im2col(
                    i.baseAddress!, channels: channels, images: images, height: height, width: width, kernel: kernel,
                    stride: stride, output: cb.baseAddress!)
            }
        }
        weight.withUnsafeBufferPointer { w in
            cols.withUnsafeBufferPointer { cb in
                out.withUnsafeMutableBufferPointer { o in
                    BLAS.gemm(
                        m: outChannels, n: length, k: depth, a: w.baseAddress!, lda: depth, b: cb.baseAddress!, ldb: length,
                        c: o.baseAddress!, ldc: length)
                }
            }
        }
        #expect(EncoderOpsTests.maxDiff(out, expected) < 1e-4)
    }

    @Test("bias, ReLU6 and the residual")
    func biasActivation() {
        let (channels, length) = (3, 37)
        let x = EncoderOpsTests.random(channels * length, seed: 31, scale: 10)
        let skip = EncoderOpsTests.random(channels * length, seed: 32, scale: 2)
        let bias: [Float] = [0.5, -1, 3]
        for (relu6, useSkip) in [(true, false), (true, true), (false, true), (false, false)] {
            var out = x
            bias.withUnsafeBufferPointer { b in
                skip.withUnsafeBufferPointer { s in
                    out.withUnsafeMutableBufferPointer { o in
                        ConvOps.biasActivation(
                            o.baseAddress!, channels: channels, length: length, bias: b.baseAddress!, relu6: relu6,
                            skip: useSkip ? s.baseAddress! : nil)
                    }
                }
            }
            let expected = x.indices.map { i -> Float in
                let v = x[i] + bias[i / length] + (useSkip ? skip[i] : 0)
                return relu6 ? min(max(v, 0), 6) : v
            }
            #expect(out == expected)
        }
    }

    @Test("row means")
    func means() {
        let x = EncoderOpsTests.random(4 * 49, seed: 41)
        var out = [Float](repeating: 0, count: 4)
        x.withUnsafeBufferPointer { i in
            out.withUnsafeMutableBufferPointer { ConvOps.rowMeans(i.baseAddress!, rows: 4, length: 49, output: $0.baseAddress!) }
        }
        for r in 0..<4 {
            let mean = x[r * 49..<(r + 1) * 49].map(Double.init).reduce(0, +) / 49
            #expect(abs(Double(out[r]) - mean) < 1e-6)
        }
    }
}
