import CKernels
import Testing

@testable import PipelineTensor

/// The AVX-512/VNNI kernels for Gemma 3's types (quant_avx512_k.c): each output bit-identical to
/// the AVX2 kernel (thread forced to AVX2) and to the portable single dot, on random blocks, blocks
/// at the quant extremes, odd row counts and column tails.
@Suite("Gemma 3 AVX-512 kernels (Q5_0 GEMM, Q4_K eight-row groups, Q6_K columns)", .serialized)
struct Gemma512Tests {
    /// The CPU runs the kernels (AVX-512 F/BW/VL and VNNI); CI on AVX2-only machines skips.
    static let hostHasVNNI = CPUFeatures.host.isSuperset(of: [.avx512f, .avx512bw, .avx512vl, .avx512vnni])

    static func activations(_ format: QuantizedDot.ActivationFormat, count: Int, columns: Int) -> [UInt8] {
        var acts: [UInt8] = []
        for c in 0..<columns {
            let x: [Float] = (0..<count).map { i -> Float in
                switch c % 5 {
                case 2: return i % 2 == 0 ? 1000 : -1000  // full range, alternating
                case 4: return i % 37 == 3 ? 500 : 0.01  // lone spikes
                default: return Float((i * (c + 5) * 7919) % 2001 - 1000) / 300
                }
            }
            acts += x.withUnsafeBufferPointer { QuantizedDot.quantize($0.baseAddress!, count: count, as: format) }
        }
        return acts
    }

    /// Runs `body` with the weights and `activations(format)` for each column count (the activation
    /// stride is one column's bytes).
    static func withColumns(_ counts: [Int], weights: [UInt8], format: QuantizedDot.ActivationFormat, count: Int,
                            _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer, Int, Int) throws -> Void) throws {
        for columns in counts {
            let acts = activations(format, count: count, columns: columns)
            try weights.withUnsafeBytes { w in
                try acts.withUnsafeBytes { a in try body(w, a, acts.count / columns, columns) }
            }
        }
    }

    /// The prompt GEMM on the AVX2 path (this thread forced to it), nil where it has no kernel.
    static func avx2Columns(_ type: GGMLType, weights w: UnsafeRawBufferPointer, rowBytes: Int, rows: Int,
                            activations a: UnsafeRawBufferPointer, stride: Int, columns: Int, count: Int) -> [Float]? {
        var out = [Float](repeating: .nan, count: rows * columns)
        let ran = ISA.withThreadPath(.avx2) {
            #expect(pl_gemma512_on() == 0)
            return out.withUnsafeMutableBufferPointer {
                QuantizedDot.fastMatmulColumns(type, w.baseAddress!, rowBytes: rowBytes, rows: rows, a.baseAddress!, stride: stride,
                                               columns: columns, count: count, into: $0.baseAddress!, outputStride: rows)
            }
        }
        return ran ? out : nil
    }

    /// Each output against the portable single dot, and against the AVX2 path's where it ran.
    static func expectBitExact(_ type: GGMLType, weights w: UnsafeRawBufferPointer, rowBytes: Int, activations a: UnsafeRawBufferPointer,
                               stride: Int, count: Int, rows: Int, columns: Int, fast: [Float], avx2: [Float]?) {
        for c in 0..<columns {
            for r in 0..<rows {
                let portable = QuantizedDot.withPortableKernels {
                    QuantizedDot.fastDot(type, w.baseAddress! + r * rowBytes, a.baseAddress! + c * stride, count: count)
                }
                let got = fast[c * rows + r]
                #expect(got.bitPattern == portable.bitPattern, "row \(r) column \(c) of \(columns): \(got) vs \(portable)")
                if let avx2 { #expect(got.bitPattern == avx2[c * rows + r].bitPattern, "row \(r) column \(c) vs AVX2") }
            }
        }
    }

    @Test("Q5_0 prompt GEMM: AVX-512 = AVX2 = portable single dot, bit for bit",
          .enabled(if: hostHasVNNI && ISA.current != .portable, "needs AVX-512 F/BW/VL + VNNI"),
          arguments: [(640, 19), (608, 37), (32, 5)])
    func q5_0(count: Int, rows: Int) throws {
        let type = GGMLType.q5_0
        let rowBytes = count / 32 * type.blockBytes
        var weights = randomWeights(type, blocks: rows * count / 32, seed: UInt64(count + rows))
        for i in (3 * rowBytes)..<(4 * rowBytes) where i % 22 >= 2 { weights[i] = 0xFF }  // row 3: every quant 15
        for i in (4 * rowBytes)..<(5 * rowBytes) where i % 22 >= 2 { weights[i] = 0 }  // row 4: every quant -16
        try Self.withColumns([1, 2, 3, 7, 8, 9, 13, 16, 64], weights: weights, format: .q8_0, count: count) { w, a, stride, columns in
            var fast = [Float](repeating: .nan, count: rows * columns)
            let ran = fast.withUnsafeMutableBufferPointer {
                pl_q5_0_matmul_avx512(w.baseAddress!, Int32(rowBytes), Int32(rows), a.baseAddress!, Int32(stride), Int32(columns),
                                      Int32(count), $0.baseAddress!, Int32(rows))
            }
            try #require(ran == 1, "the AVX-512 kernel ran")
            let avx2 = Self.avx2Columns(type, weights: w, rowBytes: rowBytes, rows: rows, activations: a, stride: stride,
                                        columns: columns, count: count)
            #expect(avx2 != nil || columns == 1)
            Self.expectBitExact(type, weights: w, rowBytes: rowBytes, activations: a, stride: stride, count: count, rows: rows,
                                columns: columns, fast: fast, avx2: avx2)
        }
    }

    @Test("Q6_K prompt columns (eight at a time): AVX-512 = AVX2 = portable single dot, bit for bit",
          .enabled(if: hostHasVNNI && ISA.current != .portable, "needs AVX-512 F/BW/VL + VNNI"),
          arguments: [(256, 21), (2048, 5)])
    func q6_K(count: Int, rows: Int) throws {
        let type = GGMLType.q6_K
        let rowBytes = count / 256 * type.blockBytes
        var weights = randomWeights(type, blocks: rows * count / 256, seed: UInt64(count + 3 * rows))
        // Row 1: every quant 63 (+31), scales -128; row 2: every quant 0 (-32), scales 127.
        for i in (1 * rowBytes)..<(2 * rowBytes) where i % 210 < 208 { weights[i] = i % 210 < 192 ? 0xFF : 0x80 }
        for i in (2 * rowBytes)..<(3 * rowBytes) where i % 210 < 208 { weights[i] = i % 210 < 192 ? 0 : 0x7F }
        try Self.withColumns([1, 3, 4, 5, 8, 9, 15, 16, 21], weights: weights, format: .q8_K, count: count) { w, a, stride, columns in
            var fast = [Float](repeating: .nan, count: rows * columns)
            let ran = fast.withUnsafeMutableBufferPointer {
                QuantizedDot.fastMatmulColumns(type, w.baseAddress!, rowBytes: rowBytes, rows: rows, a.baseAddress!, stride: stride,
                                               columns: columns, count: count, into: $0.baseAddress!, outputStride: rows)
            }
            try #require(ran && pl_gemma512_on() == 1, "the AVX-512 path ran")
            var direct = [Float](repeating: .nan, count: 8)
            #expect(pl_q6_K_cols_avx512(w.baseAddress!, a.baseAddress!, Int32(stride), Int32(min(columns, 8)), Int32(count),
                                        &direct) == 1)
            let avx2 = Self.avx2Columns(type, weights: w, rowBytes: rowBytes, rows: rows, activations: a, stride: stride,
                                        columns: columns, count: count)
            #expect(avx2 != nil)
            Self.expectBitExact(type, weights: w, rowBytes: rowBytes, activations: a, stride: stride, count: count, rows: rows,
                                columns: columns, fast: fast, avx2: avx2)
            for c in 0..<min(columns, 8) { #expect(direct[c].bitPattern == fast[c * rows].bitPattern, "row 0 column \(c), direct call") }
        }
    }

    @Test("Q4_K eight-row groups: AVX-512 = AVX2 = portable single dot, bit for bit",
          .enabled(if: hostHasVNNI && ISA.current != .portable, "needs AVX-512 F/BW/VL + VNNI"),
          arguments: [256, 1536])
    func q4_K(count: Int) throws {
        let type = GGMLType.q4_K, rows = 24
        let rowBytes = count / 256 * type.blockBytes
        var weights = randomWeights(type, blocks: rows * count / 256, seed: UInt64(count))
        for i in (5 * rowBytes)..<(6 * rowBytes) where i % 144 >= 4 { weights[i] = 0xFF }  // row 5: largest nibbles, scales, mins
        try Self.withColumns([1, 2, 3, 4, 5, 9, 64], weights: weights, format: .q8_K, count: count) { w, a, stride, columns in
            let groups = try #require(RowGroups(type: type, rows: w.baseAddress!, rowBytes: rowBytes, count: rows, columns: count))
            var fast = [Float](repeating: .nan, count: rows * columns)
            let ran = fast.withUnsafeMutableBufferPointer {
                pl_q4_K_x8_matvec_avx512(groups.data, Int32(rows / 8), a.baseAddress!, Int32(stride), Int32(columns), Int32(count),
                                         $0.baseAddress!, Int32(rows))
            }
            try #require(ran == 1, "the AVX-512 kernel ran")
            var avx2 = [Float](repeating: .nan, count: rows * columns)
            let ranAVX2 = ISA.withThreadPath(.avx2) {
                avx2.withUnsafeMutableBufferPointer {
                    groups.multiply(rows: 0..<rows, a.baseAddress!, stride: stride, columns: columns, into: $0.baseAddress!,
                                    outputStride: rows)
                }
            }
            #expect(ranAVX2)
            Self.expectBitExact(type, weights: w, rowBytes: rowBytes, activations: a, stride: stride, count: count, rows: rows,
                                columns: columns, fast: fast, avx2: avx2)
        }
    }

    @Test("Q8_K quantization: AVX-512 gives the reference's bytes",
          .enabled(if: hostHasVNNI && ISA.current != .portable, "needs AVX-512 F/BW/VL + VNNI"))
    func q8K() throws {
        let count = 256 * 6
        var state: UInt64 = 0xC0FFEE
        for trial in 0..<40 {
            var x: [Float] = (0..<count).map { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return Float(Int64(state >> 33) % 200_001 - 100_000) / (trial % 2 == 0 ? 977 : 3)
            }
            for i in 256..<512 { x[i] = 0 }  // a zero block
            x[600] = 1e6
            x[700] = -1e6  // same magnitude, later: the first one wins
            for i in 1024..<1280 { x[i] = Float(i % 5) - 2 }  // small integers: many ties at .5
            let reference = x.withUnsafeBufferPointer { QuantizedDot.quantize($0.baseAddress!, count: count, as: .q8_K) }
            var fast = [UInt8](repeating: 0xAA, count: reference.count)
            let ran = x.withUnsafeBufferPointer { xp in
                fast.withUnsafeMutableBytes { pl_quantize_q8_K_avx512(xp.baseAddress!, $0.baseAddress!, Int32(count)) }
            }
            try #require(ran == 1, "the AVX-512 quantizer ran")
            #expect(fast == reference, "trial \(trial)")
        }
    }

    /// The gate: never on a thread forced to the portable or AVX2 path, never where the CPU lacks
    /// the features, and off with the A/B switch.
    @Test("the AVX-512 kernels run only where the CPU and the thread's path allow")
    func gate() {
        #expect(ISA.withThreadPath(.portable) { pl_gemma512_on() } == 0)
        #expect(ISA.withThreadPath(.avx2) { pl_gemma512_on() } == 0)
        #expect(pl_gemma512_available() == (Self.hostHasVNNI && CPUFeatures.host.isSuperset(of: [.avx2, .fma, .f16c]) ? 1 : 0))
        if pl_gemma512_available() == 0 { #expect(pl_gemma512_on() == 0) }
        let before = pl_gemma512_set(0)
        #expect(pl_gemma512_on() == 0)
        var out = [Float](repeating: 0, count: 1)
        let none = [UInt8](repeating: 0, count: 64)
        none.withUnsafeBytes { b in
            #expect(pl_q5_0_matmul_avx512(b.baseAddress!, 22, 1, b.baseAddress!, 34, 1, 32, &out, 1) == 0)
        }
        _ = pl_gemma512_set(before)
    }
}
