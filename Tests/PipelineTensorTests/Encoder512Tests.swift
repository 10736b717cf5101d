import CKernels
import Foundation
import Testing

@testable import PipelineTensor

/// The AVX-512 encoder kernels (encoder_avx512.c), called directly, against their portable twins
/// (the same C entry points on a thread forced to the portable path) and the Double references,
/// on sizes off the vector width: tails of 1 to 15 floats, rows off the 8-row tile, columns off
/// the 32-column panel. They need AVX-512 F/BW/VL; elsewhere CI reports them skipped
/// (.ci/allowed-skips).
@Suite("AVX-512 encoder kernels", .enabled(if: pl_enc512_cpu() != 0, "needs AVX-512 F/BW/VL"))
struct Encoder512Tests {
    static func random(_ count: Int, seed: UInt64, scale: Float = 4) -> [Float] {
        EncoderOpsTests.random(count, seed: seed, scale: scale)
    }
    static func maxDiff(_ a: [Float], _ b: [Float]) -> Float { EncoderOpsTests.maxDiff(a, b) }

    @Test("the gate: on with the automatic path, off on a thread forced to avx2 or portable")
    func gate() {
        #expect(ISA.withThreadPath(.avx2) { pl_enc512_active() } == 0)
        #expect(ISA.withThreadPath(.portable) { pl_enc512_active() } == 0)
        // The test process chose its path itself unless PIPELINE_ISA named one.
        if ProcessInfo.processInfo.environment["PIPELINE_ISA"] == nil {
            #expect(pl_enc512_active() == 1)
        } else {
            #expect(pl_enc512_active() == 0)
        }
    }

    /// (outChannels, depth, first column, columns).
    @Test("pointwise product with bias, skip and ReLU6 against the portable twin and the reference", arguments: [
        (8, 16, 0, 32), (13, 7, 3, 45), (4, 1, 0, 1), (21, 33, 5, 100), (32, 96, 0, 49), (3, 5, 2, 17), (16, 24, 0, 196),
    ])
    func pointwise(_ c: (Int, Int, Int, Int)) {
        let (m, k, n0, cols) = c
        let n = n0 + cols + 2  // columns outside n0..<n0 + cols stay untouched
        let weight = Self.random(m * k, seed: 21, scale: 1)
        let x = Self.random(k * n, seed: 22)
        let bias = Self.random(m, seed: 23)
        let skip = Self.random(m * n, seed: 24)
        let packed = ConvOps.packPointwise(weight, outChannels: m, depth: k)
        for (useSkip, relu6) in [(false, false), (true, false), (false, true), (true, true)] {
            func run(avx512: Bool) -> [Float] {
                var out = [Float](repeating: .nan, count: m * n)
                packed.withUnsafeBufferPointer { wp in
                    x.withUnsafeBufferPointer { xp in
                        bias.withUnsafeBufferPointer { bp in
                            skip.withUnsafeBufferPointer { sp in
                                out.withUnsafeMutableBufferPointer { op in
                                    let s = useSkip ? sp.baseAddress : nil
                                    if avx512 {
                                        let done = pl_conv_gemm_avx512(
                                            wp.baseAddress!, Int32(m), Int32(k), xp.baseAddress!, n, n0, n0 + cols,
                                            bp.baseAddress!, s, relu6 ? 1 : 0, op.baseAddress!, n)
                                        #expect(done == 1)
                                    } else {
                                        var scratch = [Float](repeating: 0, count: k * 24 * ((cols + 23) / 24))
                                        ISA.withThreadPath(.portable) {
                                            pl_conv_gemm(
                                                wp.baseAddress!, Int32(m), Int32(k), xp.baseAddress!, n, n0, n0 + cols,
                                                bp.baseAddress!, s, relu6 ? 1 : 0, op.baseAddress!, n, &scratch)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                return out
            }
            let fast = run(avx512: true), twin = run(avx512: false)
            let reference = ConvOps.referencePointwise(
                x, depth: k, length: n, weight: weight, outChannels: m, bias: bias, skip: useSkip ? skip : nil, relu6: relu6)
            for row in 0..<m {
                for col in 0..<n {
                    let i = row * n + col
                    if col < n0 || col >= n0 + cols {
                        #expect(fast[i].isNaN, "row \(row) column \(col) outside the range was written")
                        continue
                    }
                    #expect(abs(fast[i] - twin[i]) <= 1e-5 * max(1, abs(twin[i])), "twin, row \(row) column \(col)")
                    #expect(abs(fast[i] - reference[i]) <= 1e-4 * max(1, abs(reference[i])), "reference, row \(row) column \(col)")
                }
            }
        }
    }

    /// (kernel, stride, height, width): the image sizes of EfficientNet-Lite0 and odd ones.
    @Test("depthwise convolution with bias and ReLU6 against the portable twin and the reference", arguments: [
        (3, 1, 9, 7), (3, 2, 9, 7), (5, 1, 6, 11), (5, 2, 12, 8), (5, 2, 1, 1), (3, 2, 2, 3), (3, 2, 10, 9),
        (3, 1, 5, 37), (5, 2, 7, 40), (3, 1, 112, 112), (3, 2, 112, 112), (5, 2, 28, 28), (5, 1, 14, 14), (3, 1, 17, 33),
    ])
    func depthwise(_ c: (Int, Int, Int, Int)) {
        let (kernel, stride, height, width) = c
        let (channels, images) = (3, 2)
        let py = ConvOps.samePadding(input: height, kernel: kernel, stride: stride)
        let px = ConvOps.samePadding(input: width, kernel: kernel, stride: stride)
        let input = Self.random(channels * images * height * width, seed: 31)
        let weight = Self.random(channels * kernel * kernel, seed: 32, scale: 1)
        let bias: [Float] = [0.5, -1, 2]
        let count = channels * images * py.output * px.output
        for relu6 in [false, true] {
            func run(avx512: Bool) -> [Float] {
                var out = [Float](repeating: .nan, count: count)
                input.withUnsafeBufferPointer { i in
                    weight.withUnsafeBufferPointer { w in
                        bias.withUnsafeBufferPointer { b in
                            out.withUnsafeMutableBufferPointer { o in
                                let args = (
                                    Int32(channels), Int32(images), Int32(height), Int32(width), Int32(kernel), Int32(stride),
                                    Int32(py.before), Int32(px.before), Int32(py.output), Int32(px.output)
                                )
                                if avx512 {
                                    let done = pl_depthwise_conv_avx512(
                                        i.baseAddress!, args.0, args.1, args.2, args.3, w.baseAddress!, args.4, args.5, args.6,
                                        args.7, args.8, args.9, b.baseAddress!, relu6 ? 1 : 0, o.baseAddress!)
                                    #expect(done == 1)
                                } else {
                                    ISA.withThreadPath(.portable) {
                                        pl_depthwise_conv(
                                            i.baseAddress!, args.0, args.1, args.2, args.3, w.baseAddress!, args.4, args.5,
                                            args.6, args.7, args.8, args.9, b.baseAddress!, relu6 ? 1 : 0, o.baseAddress!)
                                    }
                                }
                            }
                        }
                    }
                }
                return out
            }
            let fast = run(avx512: true), twin = run(avx512: false)
            let plane = count / channels
            let reference = ConvOps.referenceDepthwise(
                input, channels: channels, images: images, height: height, width: width, weight: weight, kernel: kernel,
                stride: stride
            ).enumerated().map { i, v in relu6 ? min(max(v + bias[i / plane], 0), 6) : v + bias[i / plane] }
            #expect(!fast.contains { $0.isNaN }, "every output written")
            #expect(Self.maxDiff(fast, twin) < 1e-5, "twin, relu6 \(relu6)")
            #expect(Self.maxDiff(fast, reference) < 1e-5, "reference, relu6 \(relu6)")
        }
    }

    @Test("a kernel size other than 3 and 5 is left to the other kernels")
    func depthwiseOtherSizes() {
        var out = [Float](repeating: .nan, count: 16)
        let input = [Float](repeating: 1, count: 16), weight = [Float](repeating: 1, count: 49)
        let done = pl_depthwise_conv_avx512(input, 1, 1, 4, 4, weight, 7, 1, 3, 3, 4, 4, nil, 0, &out)
        #expect(done == 0)
        #expect(out.allSatisfy { $0.isNaN })
    }

    /// Runs `body` on a copy of `x` with the AVX-512 kernel and with the portable twin.
    static func both(_ x: [Float], _ fast: (UnsafeMutablePointer<Float>) -> Void, _ twin: (UnsafeMutablePointer<Float>) -> Void)
        -> (fast: [Float], twin: [Float])
    {
        var a = x, b = x
        a.withUnsafeMutableBufferPointer { fast($0.baseAddress!) }
        b.withUnsafeMutableBufferPointer { p in ISA.withThreadPath(.portable) { twin(p.baseAddress!) } }
        return (a, b)
    }

    static let widths = [1, 5, 15, 16, 17, 32, 37, 384, 1536]

    @Test("bias, bias + GELU, LayerNorm and softmax rows against their portable twins", arguments: widths)
    func rows(cols: Int) {
        let rows = 3
        var x = Self.random(rows * cols, seed: UInt64(40 + cols), scale: 6)
        if cols > 2 { x[1] = 100; x[2] = -100 }  // GELU's clamped tails, a dominant softmax value
        let bias = Self.random(cols, seed: 41), gamma = Self.random(cols, seed: 42), beta = Self.random(cols, seed: 43)

        let added = Self.both(x, { pl_add_bias_avx512($0, Int32(rows), Int32(cols), bias) }, { pl_add_bias($0, Int32(rows), Int32(cols), bias) })
        #expect(added.fast == added.twin)

        let gelu = Self.both(x, { pl_bias_gelu_avx512($0, Int32(rows), Int32(cols), bias) }, { pl_bias_gelu($0, Int32(rows), Int32(cols), bias) })
        #expect(Self.maxDiff(gelu.fast, gelu.twin) <= 1e-5 * 100)
        let geluReference = EncoderOps.referenceBiasGELU(x, cols: cols, bias: bias)
        #expect(zip(gelu.fast, geluReference).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) })

        let norm = Self.both(
            x, { pl_layer_norm_avx512($0, Int32(rows), Int32(cols), gamma, beta, 1e-12) },
            { pl_layer_norm($0, Int32(rows), Int32(cols), gamma, beta, 1e-12) })
        #expect(Self.maxDiff(norm.fast, norm.twin) < 1e-4)
        let normReference = EncoderOps.referenceLayerNorm(x, cols: cols, gamma: gamma, beta: beta, eps: 1e-12)
        #expect(Self.maxDiff(norm.fast, normReference) < 1e-4)

        // Softmax over the first `cols - 1` of each row (ld = cols): the last float stays as it was.
        let used = max(1, cols - 1)
        let soft = Self.both(
            x, { pl_softmax_rows_avx512($0, Int32(rows), Int32(used), Int32(cols)) },
            { pl_softmax_rows($0, Int32(rows), Int32(used), Int32(cols)) })
        #expect(Self.maxDiff(soft.fast, soft.twin) < 1e-6)
        for r in 0..<rows {
            let row = soft.fast[r * cols..<r * cols + used]
            #expect(abs(row.reduce(0, +) - 1) < 1e-5, "row \(r) sums to 1")
            if cols > used { #expect(soft.fast[r * cols + used] == x[r * cols + used], "row \(r)'s last float untouched") }
        }
    }
}
