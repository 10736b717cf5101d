import Foundation
import Testing

@testable import PipelineTensor

/// The encoder kernels (CKernels) against their plain Swift references, and BLAS against a
/// naive product.
@Suite("Encoder kernels")
struct EncoderOpsTests {
    static func random(_ count: Int, seed: UInt64, scale: Float = 4) -> [Float] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (Float(state >> 40) / Float(1 << 24) - 0.5) * 2 * scale
        }
    }

    static func maxDiff(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }

    @Test("F16-weight gemv equals the widened reference, SIMD and portable, with a tail and accumulation",
          arguments: [384, 37])
    func gemvF16(cols: Int) {
        let rows = 9
        let w = Self.random(rows * cols, seed: 5, scale: 1).map { Float16($0).bitPattern }
        let x = Self.random(cols, seed: 6, scale: 2)
        let expected = EncoderOps.referenceGemvF16(w, cols: cols, x: x)
        func run(accumulate: Bool) -> [Float] {
            var y = [Float](repeating: 1, count: rows)
            w.withUnsafeBufferPointer { wp in
                x.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer {
                        EncoderOps.gemvF16(wp.baseAddress!, rows: rows, cols: cols, x: xp.baseAddress!, y: $0.baseAddress!,
                                           accumulate: accumulate)
                    }
                }
            }
            return y
        }
        #expect(Self.maxDiff(run(accumulate: false), expected) < 1e-4)
        #expect(Self.maxDiff(run(accumulate: true), expected.map { $0 + 1 }) < 1e-4)
        let portable = QuantizedDot.withPortableKernels { run(accumulate: false) }
        #expect(Self.maxDiff(portable, expected) < 1e-4)
    }

    @Test("bias + GELU(erf), including the clamped tails")
    func gelu() {
        let (rows, cols) = (7, 33)
        var x = Self.random(rows * cols, seed: 1, scale: 6)
        x.replaceSubrange(0..<8, with: [0, -0, 12, -12, 5.5, -5.5, 1e-8, -1e30])
        let bias = Self.random(cols, seed: 2, scale: 1)
        let expected = EncoderOps.referenceBiasGELU(x, cols: cols, bias: bias)
        bias.withUnsafeBufferPointer { b in
            x.withUnsafeMutableBufferPointer { EncoderOps.biasGELU($0.baseAddress!, rows: rows, cols: cols, bias: b.baseAddress!) }
        }
        #expect(Self.maxDiff(x, expected) < 1e-5)
    }

    @Test("LayerNorm, including a constant row")
    func layerNorm() {
        let (rows, cols) = (5, 384)
        var x = Self.random(rows * cols, seed: 3, scale: 10)
        for c in 0..<cols { x[c] = 2.5 }
        let gamma = Self.random(cols, seed: 4, scale: 1), beta = Self.random(cols, seed: 5, scale: 1)
        let expected = EncoderOps.referenceLayerNorm(x, cols: cols, gamma: gamma, beta: beta, eps: 1e-12)
        gamma.withUnsafeBufferPointer { g in
            beta.withUnsafeBufferPointer { b in
                x.withUnsafeMutableBufferPointer {
                    EncoderOps.layerNorm($0.baseAddress!, rows: rows, cols: cols, gamma: g.baseAddress!, beta: b.baseAddress!, eps: 1e-12)
                }
            }
        }
        #expect(Self.maxDiff(x, expected) < 1e-4)
        #expect(x[0..<cols].allSatisfy { $0.isFinite })
    }

    @Test("softmax rows, with large and equal values")
    func softmax() {
        let (rows, cols) = (4, 19)
        var x = Self.random(rows * cols, seed: 6, scale: 30)
        x[0] = 1e30
        for c in 0..<cols { x[cols + c] = -3 }
        let expected = EncoderOps.referenceSoftmax(x, cols: cols)
        x.withUnsafeMutableBufferPointer { EncoderOps.softmaxRows($0.baseAddress!, rows: rows, cols: cols, ld: cols) }
        #expect(Self.maxDiff(x, expected) < 1e-6)
    }

    /// (rows, keys, d): row counts around the 4-row groups and 16-row blocks, key counts off the
    /// 8- and 16-lane widths, and a head size the SIMD kernel does not take (portable path).
    @Test("one head's attention on packed keys and values, SIMD and portable, against a Double reference",
          arguments: [(1, 1, 16), (3, 13, 64), (21, 37, 64), (35, 150, 32), (5, 20, 24)])
    func attention(rows: Int, keys: Int, d: Int) {
        // q, k, v as column blocks of wider matrices (as in a fused QKV projection), out too.
        let ld = 3 * d + 5
        let q = Self.random(rows * ld, seed: 11, scale: 2), kv = Self.random(keys * ld, seed: 12, scale: 2)
        let scale = 1 / Float(d).squareRoot()
        func rowsOf(_ m: [Float], _ n: Int, at offset: Int) -> [Float] { (0..<n).flatMap { m[$0 * ld + offset..<$0 * ld + offset + d] } }
        let expected = EncoderOps.referenceAttention(
            rowsOf(q, rows, at: 0), rowsOf(kv, keys, at: d), rowsOf(kv, keys, at: 2 * d), d: d, scale: scale)
        let ldkt = EncoderOps.packedKeyStride(keys: keys)
        var kt = [Float](repeating: .nan, count: ldkt * d)
        var vp = [Float](repeating: .nan, count: EncoderOps.packedValueCount(keys: keys, d: d))
        kv.withUnsafeBufferPointer { kvp in
            EncoderOps.packKeysTransposed(kvp.baseAddress! + d, ldk: ld, keys: keys, d: d, into: &kt, ldkt: ldkt)
            EncoderOps.packValues(kvp.baseAddress! + 2 * d, ldv: ld, keys: keys, d: d, into: &vp)
        }
        func run() -> [Float] {
            let ldo = d + 3
            var out = [Float](repeating: 0, count: rows * ldo)
            var scratch = [Float](repeating: .nan, count: EncoderOps.attentionScratch(ldkt: ldkt))
            q.withUnsafeBufferPointer { qp in
                out.withUnsafeMutableBufferPointer { op in
                    EncoderOps.attentionRows(
                        q: qp.baseAddress!, ldq: ld, keysTransposed: kt, ldkt: ldkt, values: vp, rows: rows, keys: keys, d: d,
                        scale: scale, out: op.baseAddress!, ldo: ldo, scratch: &scratch)
                }
            }
            return (0..<rows).flatMap { out[$0 * ldo..<$0 * ldo + d] }
        }
        #expect(Self.maxDiff(run(), expected) < 2e-5)
        #expect(Self.maxDiff(QuantizedDot.withPortableKernels { run() }, expected) < 2e-5)
    }

    @Test("one query's attention on rows in place, SIMD and portable, against a Double reference",
          arguments: [(1, 64), (7, 64), (130, 32), (9, 24)])
    func attentionOne(keys: Int, d: Int) {
        // Keys and values interleaved per row, as in the decoder's cache.
        let ld = 2 * d + 3
        let q = Self.random(d, seed: 13, scale: 2), cache = Self.random(keys * ld, seed: 14, scale: 2)
        let scale = 1 / Float(d).squareRoot()
        let expected = EncoderOps.referenceAttention(
            q, (0..<keys).flatMap { cache[$0 * ld..<$0 * ld + d] }, (0..<keys).flatMap { cache[$0 * ld + d..<$0 * ld + 2 * d] },
            d: d, scale: scale)
        func run() -> [Float] {
            var out = [Float](repeating: .nan, count: d)
            var scratch = [Float](repeating: .nan, count: keys)
            cache.withUnsafeBufferPointer { c in
                EncoderOps.attentionOne(
                    q: q, k: c.baseAddress!, ldk: ld, v: c.baseAddress! + d, ldv: ld, keys: keys, d: d, scale: scale, out: &out,
                    scratch: &scratch)
            }
            return out
        }
        #expect(Self.maxDiff(run(), expected) < 2e-5)
        #expect(Self.maxDiff(QuantizedDot.withPortableKernels { run() }, expected) < 2e-5)
    }

    @Test("BLAS: x · wᵀ and x · w against a naive product")
    func gemm() {
        let (m, n, k) = (5, 7, 9)
        let a = Self.random(m * k, seed: 7), b = Self.random(n * k, seed: 8)
        var c = [Float](repeating: 0, count: m * n)
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer {
                    BLAS.gemmTransposedB(m: m, n: n, k: k, a: a.baseAddress!, lda: k, b: b.baseAddress!, ldb: k, c: $0.baseAddress!, ldc: n)
                }
            }
        }
        var naive = [Float](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { for p in 0..<k { naive[i * n + j] += a[i * k + p] * b[j * k + p] } } }
        #expect(Self.maxDiff(c, naive) < 1e-4)
        // b read as [k, n]
        var d = [Float](repeating: 0, count: m * n)
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                d.withUnsafeMutableBufferPointer {
                    BLAS.gemm(m: m, n: n, k: k, a: a.baseAddress!, lda: k, b: b.baseAddress!, ldb: n, c: $0.baseAddress!, ldc: n)
                }
            }
        }
        var naive2 = [Float](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { for p in 0..<k { naive2[i * n + j] += a[i * k + p] * b[p * n + j] } } }
        #expect(Self.maxDiff(d, naive2) < 1e-4)
    }
}
