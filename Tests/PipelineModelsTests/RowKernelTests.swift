import CKernels
import Foundation
import PipelineTensor
import Testing

@testable import PipelineModels

/// The row-wise decoder kernels (llm_ops.c) against plain Swift written from ggml's C, bit for
/// bit, on both kernel paths: RMSNorm (eight rows summed side by side, and the tail rows), RoPE
/// in both pairings, and the f32 to f16 rounding of the KV cache store.
@Suite("Decoder row kernels (RMSNorm, RoPE, f16 store)")
struct RowKernelTests {
    static func values(_ count: Int, seed: Int) -> [Float] {
        (0..<count).map { i in
            let v = Float((i * 7919 + seed * 104_729) % 20_011 - 10_005) / 1_000
            return i % 97 == 5 ? v * 3_000 : i % 89 == 7 ? v / 4_096 : v
        }
    }

    /// ggml_compute_forward_rms_norm_f32 then the weight multiply, one row at a time.
    static func reference(_ x: [Float], _ w: [Float], rows: Int, epsilon: Float) -> [Float] {
        let n = w.count
        var out = x
        for r in 0..<rows {
            var sum: Double = 0
            for i in 0..<n { sum += Double(x[r * n + i] * x[r * n + i]) }
            let scale = 1 / (Float(sum / Double(n)) + epsilon).squareRoot()
            for i in 0..<n { out[r * n + i] = x[r * n + i] * scale * w[i] }
        }
        return out
    }

    @Test("RMSNorm: eight-row blocks and tails equal the one-row sum, in place and not",
          arguments: [(640, 1), (640, 8), (640, 19), (256, 16), (256, 23), (64, 7)])
    func rmsNorm(width n: Int, rows: Int) {
        let x = Self.values(n * rows, seed: n + rows), w = Self.values(n, seed: 3).map { 1 + $0 / 20 }
        let expected = Self.reference(x, w, rows: rows, epsilon: 1e-6)
        var out = [Float](repeating: .nan, count: x.count), inPlace = x
        x.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer {
                RMSNorm(epsilon: 1e-6)(UnsafeMutablePointer(mutating: src.baseAddress!), w, into: $0.baseAddress!, rows: rows)
            }
        }
        inPlace.withUnsafeMutableBufferPointer { RMSNorm(epsilon: 1e-6)($0.baseAddress!, w, into: $0.baseAddress!, rows: rows) }
        #expect(out.map(\.bitPattern) == expected.map(\.bitPattern))
        #expect(inPlace.map(\.bitPattern) == expected.map(\.bitPattern))
    }

    @Test("RoPE: both pairings equal ggml's fused multiply-adds, on the AVX2 and portable paths",
          arguments: [(256, 4), (64, 9), (24, 3)])
    func rope(headSize d: Int, heads: Int) {
        let rope = Rope(headSize: d, base: 10_000, position: 37)
        let half = d / 2
        for mode in [Rope.Mode.neox, .norm] {
            let x = Self.values(d * heads, seed: d + heads)
            var expected = x
            let (step, partner) = mode == .norm ? (2, 1) : (1, half)
            for h in 0..<heads {
                for i in 0..<half {
                    let j = h * d + i * step
                    let a = x[j], b = x[j + partner], c = rope.cosines[i], s = rope.sines[i]
                    expected[j] = (-(b * s)).addingProduct(a, c)
                    expected[j + partner] = (b * c).addingProduct(a, s)
                }
            }
            var fast = x, portable = x
            fast.withUnsafeMutableBufferPointer { rope.rotate($0.baseAddress!, heads: heads, mode: mode) }
            QuantizedDot.withPortableKernels {
                portable.withUnsafeMutableBufferPointer { rope.rotate($0.baseAddress!, heads: heads, mode: mode) }
            }
            #expect(fast.map(\.bitPattern) == expected.map(\.bitPattern), "\(mode)")
            #expect(portable.map(\.bitPattern) == expected.map(\.bitPattern), "\(mode), portable")
        }
    }

    @Test("f32 to f16: vcvtps2ph equals round-to-nearest-even, contiguous and strided")
    func halfStore() {
        var x = Self.values(1_000, seed: 11)
        x += [0, -0.0, .infinity, -.infinity, 65_504, 65_519.99, 65_520, -65_520, 6e-8, 2.98e-8, 2.99e-8, 1e-10, 0.1, 1.0009766, 1.0004883,
              Float(bitPattern: 0x3F80_1000), Float(bitPattern: 0x3F80_3000), .nan, .leastNonzeroMagnitude]
        for stride in [1, 3] {
            var fast = [UInt16](repeating: 0xFFFF, count: x.count * stride), portable = fast
            pl_f32_to_f16(x, &fast, Int32(x.count), Int32(stride))
            QuantizedDot.withPortableKernels { pl_f32_to_f16(x, &portable, Int32(x.count), Int32(stride)) }
            for i in x.indices where !x[i].isNaN {
                #expect(fast[i * stride] == Float16(x[i]).bitPattern, "x = \(x[i]), stride \(stride)")
                #expect(portable[i * stride] == fast[i * stride], "x = \(x[i]), stride \(stride), portable")
            }
            #expect(Float16(bitPattern: fast[(x.count - 2) * stride]).isNaN)
            for i in fast.indices where i % stride != 0 { #expect(fast[i] == 0xFFFF, "gap \(i) untouched") }
        }
    }
}
