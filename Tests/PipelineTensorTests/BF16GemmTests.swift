import CKernels
import Foundation
import Testing

@testable import PipelineTensor

/// The BF16 product (bf16_gemm.c) against its plain twin pl_gemm_bf16_ref (bit for bit) and a
/// Double product of the same bfloat16 values, on sizes off the kernel's tile: rows off the
/// 8-row tile, columns off the 16-column panel and the 48-column tile, odd depths and depths
/// across the 256-deep blocks. Needs AVX512_BF16; elsewhere CI reports the suite skipped
/// (.ci/allowed-skips).
@Suite("BF16 product", .enabled(if: pl_bf16_gemm_cpu() != 0, "needs AVX-512 F/BW/VL and AVX512_BF16"))
struct BF16GemmTests {
    static func random(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        EncoderOpsTests.random(count, seed: seed, scale: scale)
    }

    /// bfloat16 bits to float.
    static func float(_ bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }

    /// Rounds rows of x to bfloat16 with the calling thread's path (`lda` = k rounded up to even).
    static func round(_ x: [Float], rows: Int, k: Int) -> [UInt16] {
        let lda = (k + 1) / 2 * 2
        var out = [UInt16](repeating: 0xFFFF, count: rows * lda)
        x.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBufferPointer { pl_bf16_round_rows(xp.baseAddress!, k, Int32(rows), Int32(k), $0.baseAddress!, lda) }
        }
        return out
    }

    static func pack(_ w: [Float], n: Int, k: Int) -> [UInt16] {
        var packed = [UInt16](repeating: 0xFFFF, count: pl_bf16_packed_count(Int32(n), Int32(k)))
        w.withUnsafeBufferPointer { wp in
            packed.withUnsafeMutableBufferPointer { pl_bf16_pack_weights(wp.baseAddress!, Int32(n), Int32(k), $0.baseAddress!) }
        }
        return packed
    }

    @Test("the gate: on with the automatic path, off on a thread forced to avx2 or portable")
    func gate() {
        #expect(ISA.withThreadPath(.avx2) { pl_bf16_gemm_active() } == 0)
        #expect(ISA.withThreadPath(.portable) { pl_bf16_gemm_active() } == 0)
        #expect(ISA.withThreadPath(.avx512) { pl_bf16_gemm_active() } == 1)
    }

    @Test("rounding to bfloat16: AVX-512 and portable agree bit for bit, nearest even, NaN kept, subnormals to zero", arguments: [1, 15, 16, 17, 31, 32, 33, 100])
    func rounding(k: Int) {
        var x = Self.random(3 * k, seed: UInt64(k), scale: 1e3)
        let specials: [Float] = [
            .nan, .infinity, -.infinity, 0, -0.0, .greatestFiniteMagnitude, .leastNonzeroMagnitude,
            Float(bitPattern: 0x3F80_8000), Float(bitPattern: 0x3F81_8000), Float(bitPattern: 0x3F80_8001),
            Float(bitPattern: 0x8001_0000),
        ]
        for (i, s) in specials.enumerated() where i < x.count { x[i] = s }
        let simd = ISA.withThreadPath(.avx512) { Self.round(x, rows: 3, k: k) }
        let plain = ISA.withThreadPath(.portable) { Self.round(x, rows: 3, k: k) }
        #expect(simd == plain)
        let lda = (k + 1) / 2 * 2
        for r in 0..<3 {
            for c in 0..<k {
                let v = x[r * k + c], b = Self.float(plain[r * lda + c])
                if v.isNaN { #expect(b.isNaN); continue }
                // Nearest: no bfloat16 neighbour of b is closer to v.
                let up = Self.float(plain[r * lda + c] &+ 1), down = Self.float(plain[r * lda + c] &- 1)
                if v.isNormal && b.isFinite {  // (a NaN neighbour compares false)
                    #expect(!(abs(up - v) < abs(b - v)) && !(abs(down - v) < abs(b - v)), "\(v) → \(b)")
                }
                if v.isSubnormal { #expect(b == 0 && b.sign == v.sign) }
            }
            if k % 2 == 1 { #expect(plain[r * lda + k] == 0) }
        }
        // Ties go to the even neighbour: 1 + 2⁻⁸ → 1, 1 + 3 · 2⁻⁸ → 1 + 2⁻⁶ (both in row 0 when k > 8).
        if k > 8 { #expect(Self.float(plain[7]) == 1 && Self.float(plain[8]) == Float(bitPattern: 0x3F82_0000)) }
    }

    /// (rows, n, k)
    @Test("product against the plain twin (bit for bit) and a Double product, with accumulation", arguments: [
        (1, 1, 1), (8, 16, 2), (9, 17, 3), (7, 48, 31), (19, 49, 64), (3, 100, 257), (16, 33, 300), (13, 384, 384),
        (21, 96, 600),
    ])
    func product(_ s: (Int, Int, Int)) {
        let (rows, n, k) = s
        let x = Self.random(rows * k, seed: 31), w = Self.random(n * k, seed: 32, scale: 0.5)
        let a = Self.round(x, rows: rows, k: k), packed = Self.pack(w, n: n, k: k)
        let lda = (k + 1) / 2 * 2
        let ldc = n + 3  // columns past n stay untouched
        let start = Self.random(rows * ldc, seed: 33)
        for accumulate in [false, true] {
            func run(_ kernel: (UnsafePointer<UInt16>, UnsafePointer<UInt16>, UnsafeMutablePointer<Float>) -> Void) -> [Float] {
                var c = start
                a.withUnsafeBufferPointer { ap in
                    packed.withUnsafeBufferPointer { wp in
                        c.withUnsafeMutableBufferPointer { kernel(ap.baseAddress!, wp.baseAddress!, $0.baseAddress!) }
                    }
                }
                return c
            }
            let acc: Int32 = accumulate ? 1 : 0
            let simd = run { a, w, c in
                #expect(pl_gemm_bf16_avx512(a, lda, Int32(rows), w, Int32(n), Int32(k), c, ldc, acc) == 1)
            }
            let plain = run { a, w, c in pl_gemm_bf16_ref(a, lda, Int32(rows), w, Int32(n), Int32(k), c, ldc, acc) }
            #expect(simd == plain, "rows \(rows) n \(n) k \(k) accumulate \(accumulate)")
            var worst: Double = 0
            for r in 0..<rows {
                for j in 0..<ldc {
                    let i = r * ldc + j
                    guard j < n else { #expect(simd[i] == start[i]); continue }
                    var sum = accumulate ? Double(start[i]) : 0, magnitude = abs(sum)
                    for p in 0..<k {
                        let term = Double(Self.float(a[r * lda + p])) * Double(Self.float(Self.bf16(w[j * k + p])))
                        sum += term
                        magnitude += abs(term)
                    }
                    worst = max(worst, abs(Double(simd[i]) - sum) / max(magnitude, 1e-30))
                }
            }
            #expect(worst < 1e-6, "relative error \(worst)")
        }
    }

    @Test("a row's result does not depend on the rows around it (one call or row by row)")
    func rowsIndependent() {
        let (rows, n, k) = (29, 80, 384)
        let x = Self.random(rows * k, seed: 41), w = Self.random(n * k, seed: 42, scale: 0.5)
        let a = Self.round(x, rows: rows, k: k), packed = Self.pack(w, n: n, k: k)
        var together = [Float](repeating: 0, count: rows * n), alone = together
        a.withUnsafeBufferPointer { ap in
            packed.withUnsafeBufferPointer { wp in
                _ = pl_gemm_bf16_avx512(ap.baseAddress!, k, Int32(rows), wp.baseAddress!, Int32(n), Int32(k), &together, n, 0)
                for r in 0..<rows {
                    alone.withUnsafeMutableBufferPointer {
                        _ = pl_gemm_bf16_avx512(
                            ap.baseAddress! + r * k, k, 1, wp.baseAddress!, Int32(n), Int32(k), $0.baseAddress! + r * n, n, 0)
                    }
                }
            }
        }
        #expect(together == alone)
    }

    @Test("BF16Weight: tasks on the pool, each finishing its own rows, equal one call of the kernel")
    func weightProduct() {
        let (rows, n, k) = (150, 72, 96)  // three tasks, the last short
        let x = Self.random(rows * k, seed: 51), w = Self.random(n * k, seed: 52, scale: 0.5)
        let weight = BF16Weight(w, outFeatures: n, inFeatures: k)
        var y = [Float](repeating: 0, count: rows * n)
        var finished = [Int](repeating: 0, count: rows)
        let lock = NSLock()
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                weight.product(xp.baseAddress!, rows: rows, into: yp.baseAddress!, accumulate: false) { first, count in
                    lock.withLock { for r in first..<first + count { finished[r] += 1 } }
                }
            }
        }
        #expect(finished == [Int](repeating: 1, count: rows))
        let a = Self.round(x, rows: rows, k: k), packed = Self.pack(w, n: n, k: k)
        var expected = [Float](repeating: 0, count: rows * n)
        pl_gemm_bf16_ref(a, k, Int32(rows), packed, Int32(n), Int32(k), &expected, n, 0)
        #expect(y == expected)
    }

    /// Float to bfloat16 bits, nearest even (finite values).
    static func bf16(_ v: Float) -> UInt16 {
        let u = v.bitPattern
        return UInt16((u &+ 0x7FFF &+ ((u >> 16) & 1)) >> 16)
    }
}
