import CKernels
import Foundation
import Testing

@testable import PipelineTensor

/// The decoder's float kernels on the AVX-512 path (llm_avx512.c) against a plain Swift
/// reference written from llama.cpp's AVX-512 code (ggml's __m512 ggml_v_expf, GGML_F32_STEP 64
/// with four 16-lane accumulators, GCC's _mm512_reduce_add_ps tree): equal bit for bit, on
/// random data, odd sizes and the exp's edge ranges. Against the AVX2 kernels they differ only
/// by rounding, within a bound. Needs a CPU with AVX-512 F/BW/VL; elsewhere reported skipped.
@Suite("AVX-512 decoder kernels", .enabled(if: ISA.best(for: .host) == .avx512, "needs AVX-512 F/BW/VL"))
struct AVX512KernelTests {
    /// ggml's AVX-512 ggml_v_expf, one lane.
    static func expf512(_ x: Float) -> Float {
        let r: Float = 0x1.8p23
        let z = r.addingProduct(x, 0x1.715476p+0)
        let n = z - r
        let b = x.addingProduct(-n, 0x1.62e4p-1).addingProduct(-n, 0x1.7f7d1cp-20)
        let u = b * b
        let p1 = Float(0x1.573e2ep-5).addingProduct(0x1.0e4020p-7, b)
        let p2 = Float(0x1.fffdb6p-2).addingProduct(0x1.555e66p-3, b)
        let j = Float(1).addingProduct(0x1.ffffecp-1, b).addingProduct(p2.addingProduct(p1, u), u)
        if abs(n) > 192 { return n <= 0 ? 0 : .infinity }
        return scalbnf(j, Int32(n))  // _mm512_scalef_ps: j * 2^n, rounded once
    }

    /// GCC's _mm512_reduce_add_ps on 16 lanes.
    static func reduce(_ v: ArraySlice<Float>) -> Float {
        let v = Array(v)
        let t3 = (0..<8).map { v[$0 + 8] + v[$0] }
        let t6 = (0..<4).map { t3[$0 + 4] + t3[$0] }
        return (t6[0] + t6[2]) + (t6[1] + t6[3])
    }

    static func half(_ h: UInt16) -> Float { Float(Float16(bitPattern: h)) }

    /// ggml_vec_dot_f16, AVX-512 branch: 4 x 16 lanes over steps of 64, leftovers in double.
    static func dotF16(_ x: [UInt16], _ y: [UInt16]) -> Float {
        let n = x.count, np = n & ~63
        var acc = [[Float]](repeating: [Float](repeating: 0, count: 16), count: 4)
        for i in stride(from: 0, to: np, by: 64) {
            for j in 0..<4 {
                for l in 0..<16 { acc[j][l] = acc[j][l].addingProduct(half(x[i + 16 * j + l]), half(y[i + 16 * j + l])) }
            }
        }
        let a02 = (0..<16).map { acc[0][$0] + acc[2][$0] }, a13 = (0..<16).map { acc[1][$0] + acc[3][$0] }
        var sum = Double(reduce((0..<16).map { a02[$0] + a13[$0] }[...]))
        for i in np..<n { sum += Double(half(x[i]) * half(y[i])) }
        return Float(sum)
    }

    /// ggml_vec_soft_max_f32, AVX-512 branch.
    static func softmaxExp(_ x: [Float], max: Float) -> (y: [Float], sum: Double) {
        var y = [Float](repeating: 0, count: x.count), sum = 0.0, i = 0
        while i + 15 < x.count {
            for l in 0..<16 { y[i + l] = expf512(x[i + l] - max) }
            sum += Double(reduce(y[i..<(i + 16)]))
            i += 16
        }
        for k in i..<x.count {
            y[k] = Foundation.expf(x[k] - max)
            sum += Double(y[k])
        }
        return (y, sum)
    }

    /// ggml_vec_swiglu_f32, AVX-512 branch.
    static func swiglu(_ g: [Float], _ u: [Float]) -> [Float] {
        let n16 = g.count / 16 * 16
        return g.indices.map { i in
            i < n16 ? g[i] / (1 + expf512(0 - g[i])) * u[i] : g[i] / (1 + Foundation.expf(-g[i])) * u[i]
        }
    }

    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 11
        }
        mutating func float(_ lo: Float, _ hi: Float) -> Float { lo + (hi - lo) * Float(next() % 1_000_003) / 1_000_003 }
    }

    static func bits(_ a: [Float]) -> [UInt32] { a.map(\.bitPattern) }

    @Test("exp: every range of ggml_v_expf (normal, scaled, overflow, underflow, -inf), bit for bit",
          arguments: [(-1.0, 1.0), (-20.0, 0.0), (-88.0, 89.0), (-104.0, -86.0), (85.0, 135.0), (-140.0, -100.0), (-300.0, 300.0)])
    func exp(lo: Double, hi: Double) {
        var rng = Random(state: UInt64(bitPattern: Int64(lo * 1000 + hi)))
        for n in [1, 15, 16, 17, 31, 48, 100, 257] {
            var x = (0..<n).map { _ in rng.float(Float(lo), Float(hi)) }
            if n > 40 { x[3] = -.infinity; x[20] = 0; x[33] = -0.0 }
            var fast = [Float](repeating: .nan, count: n)
            let sum = ISA.withThreadPath(.avx512) { pl_softmax_exp(x, &fast, 0, Int32(n)) }
            let ref = Self.softmaxExp(x, max: 0)
            #expect(Self.bits(fast) == Self.bits(ref.y), "n \(n) in [\(lo), \(hi)]")
            #expect(sum.bitPattern == ref.sum.bitPattern || (sum.isNaN && ref.sum.isNaN))
        }
    }

    @Test("softmax exp sum with the row max, odd sizes, against the reference and near AVX2",
          arguments: [1, 7, 16, 31, 32, 33, 64, 100, 256, 1000])
    func softmax(n: Int) {
        var rng = Random(state: UInt64(n) * 77 + 5)
        let x = (0..<n).map { _ in rng.float(-30, 12) }
        let max = x.max()!
        var fast = [Float](repeating: .nan, count: n), wide2 = fast
        let sum = ISA.withThreadPath(.avx512) { pl_softmax_exp(x, &fast, max, Int32(n)) }
        let ref = Self.softmaxExp(x, max: max)
        #expect(Self.bits(fast) == Self.bits(ref.y))
        #expect(sum == ref.sum)
        let sum2 = ISA.withThreadPath(.avx2) { pl_softmax_exp(x, &wide2, max, Int32(n)) }
        #expect(abs(sum - sum2) <= 1e-5 * sum2)
        for i in 0..<n { #expect(abs(fast[i] - wide2[i]) <= 4 * wide2[i].ulp) }
    }

    @Test("SwiGLU, odd sizes (scalar tail), against the reference and near AVX2", arguments: [1, 15, 16, 17, 64, 1536, 1539])
    func swiglu(n: Int) {
        var rng = Random(state: UInt64(n) &* 31 + 9)
        let g = (0..<n).map { i in i % 97 == 5 ? 95 : i % 89 == 7 ? -120 : rng.float(-12, 12) }
        let u = (0..<n).map { _ in rng.float(-3, 3) }
        var fast = [Float](repeating: .nan, count: n), wide2 = fast
        ISA.withThreadPath(.avx512) { pl_swiglu(g, u, &fast, Int32(n)) }
        #expect(Self.bits(fast) == Self.bits(Self.swiglu(g, u)))
        ISA.withThreadPath(.avx2) { pl_swiglu(g, u, &wide2, Int32(n)) }
        for i in 0..<n { #expect(abs(fast[i] - wide2[i]) <= 4 * max(abs(wide2[i]).ulp, Float.leastNormalMagnitude)) }
    }

    @Test("f16 dot: steps of 64 and leftovers in double, bit for bit", arguments: [64, 128, 256, 32, 96, 80, 5, 1000])
    func dotF16(n: Int) {
        var rng = Random(state: UInt64(n) &* 1_000_003)
        let x = (0..<n).map { _ in Float16(rng.float(-4, 4)).bitPattern }
        let y = (0..<n).map { _ in Float16(rng.float(-4, 4)).bitPattern }
        let fast = ISA.withThreadPath(.avx512) { pl_dot_f16(x, y, Int32(n)) }
        #expect(fast.bitPattern == Self.dotF16(x, y).bitPattern)
        if n % 32 == 0 {
            let avx2 = ISA.withThreadPath(.avx2) { pl_dot_f16(x, y, Int32(n)) }
            #expect(abs(fast - avx2) <= 1e-4 * (1 + abs(avx2)))
        }
    }

    /// One head as llama.cpp's native build computes it on a zero-padded n_kv (256): f16 scores,
    /// scale, softmax with -inf masks, probabilities rounded to f16, value dots over the padding.
    static func head(q: [Float], keys: [UInt16], values: [UInt16], capacity: Int, first: Int, nKV: Int, d: Int,
                     scale: Float) -> [Float] {
        let nPad = (nKV + 255) / 256 * 256
        let q16 = q.map { Float16($0).bitPattern }
        var scores = [Float](repeating: -.infinity, count: nPad)
        for t in first..<nKV { scores[t] = dotF16(Array(keys[(t * d)..<(t * d + d)]), q16) * scale }
        let (p, sum) = softmaxExp(scores, max: scores.max()!)
        let inv = Float(1 / sum)
        let p16 = p.map { Float16($0 * inv).bitPattern }
        return (0..<d).map { i in
            let row = (0..<nPad).map { t in t < capacity ? values[i * capacity + t] : 0 }
            return dotF16(row, p16)
        }
    }

    @Test("attention head (window, odd n_kv) equals the zero-padded reference, bit for bit",
          arguments: [(1, 0), (7, 0), (33, 0), (64, 10), (100, 0), (257, 200)])
    func attentionHead(nKV: Int, first: Int) {
        let d = 64, capacity = (nKV + 31) / 32 * 32 + 32
        var rng = Random(state: UInt64(nKV * 131 + first))
        let q = (0..<d).map { _ in rng.float(-2, 2) }
        let keys = (0..<(capacity * d)).map { _ in Float16(rng.float(-2, 2)).bitPattern }
        var values = [UInt16](repeating: 0, count: capacity * d)  // positions past n_kv are zero, as in our cache
        for i in 0..<d { for t in 0..<nKV { values[i * capacity + t] = Float16(rng.float(-2, 2)).bitPattern } }
        var out = [Float](repeating: .nan, count: d)
        var scratch = [Float](repeating: .nan, count: 3 * capacity + d)
        ISA.withThreadPath(.avx512) {
            pl_attention_head_window(q, keys, Int32(d), values, Int32(capacity), Int32(first), Int32(nKV), Int32(d),
                                     0.125, &out, &scratch)
        }
        let ref = Self.head(q: q, keys: keys, values: values, capacity: capacity, first: first, nKV: nKV, d: d, scale: 0.125)
        #expect(Self.bits(out) == Self.bits(ref))
    }

    @Test("grouped-query attention: each of the group's heads equals the single-head kernel, bit for bit",
          arguments: [(1, 64, 1, 0), (3, 64, 33, 0), (4, 256, 100, 0), (4, 256, 257, 200), (8, 64, 64, 10), (2, 128, 7, 3)])
    func attentionGroup(group: Int, d: Int, nKV: Int, first: Int) {
        let capacity = (nKV + 31) / 32 * 32 + 32
        var rng = Random(state: UInt64(group * 7919 + d * 31 + nKV * 131 + first))
        let q = (0..<(group * d)).map { _ in rng.float(-2, 2) }
        // Keys of two KV heads interleaved per position (width 2d), the group reading the second.
        let keys = (0..<(capacity * 2 * d)).map { _ in Float16(rng.float(-2, 2)).bitPattern }
        var values = [UInt16](repeating: 0, count: 2 * d * capacity)
        // Past n_kv the rows hold later positions (a prompt chunk stores all before attending).
        for i in 0..<(2 * d) { for t in 0..<capacity { values[i * capacity + t] = Float16(rng.float(-2, 2)).bitPattern } }
        var grouped = [Float](repeating: .nan, count: group * d), single = grouped
        var scratch = [Float](repeating: .nan, count: group * (2 * ((capacity + 63) / 64 * 64) + d))
        ISA.withThreadPath(.avx512) {
            keys.withUnsafeBufferPointer { k in
                values.withUnsafeBufferPointer { v in
                    pl_attention_group(q, Int32(group), k.baseAddress! + d, Int32(2 * d), v.baseAddress! + d * capacity,
                                       Int32(capacity), Int32(first), Int32(nKV), Int32(d), 0.125, &grouped, &scratch)
                    for g in 0..<group {
                        var out = [Float](repeating: .nan, count: d)
                        Array(q[(g * d)..<(g * d + d)]).withUnsafeBufferPointer { qg in
                            pl_attention_head_window(qg.baseAddress!, k.baseAddress! + d, Int32(2 * d), v.baseAddress! + d * capacity,
                                                     Int32(capacity), Int32(first), Int32(nKV), Int32(d), 0.125, &out, &scratch)
                        }
                        single.replaceSubrange((g * d)..<(g * d + d), with: out)
                    }
                }
            }
        }
        #expect(Self.bits(grouped) == Self.bits(single))
    }
}
