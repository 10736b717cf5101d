import Testing

@testable import PipelineTensor

/// Random bytes for weight blocks, with every half-precision scale replaced by a sane value.
func randomWeights(_ type: GGMLType, blocks: Int, seed: UInt64) -> [UInt8] {
    var state = seed | 1
    func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
    var bytes = (0..<(blocks * type.blockBytes)).map { _ in UInt8(truncatingIfNeeded: next()) }
    let scaleOffsets: [Int]
    switch type {
    case .q8_0, .q4_0, .q5_0: scaleOffsets = [0]
    case .q4_1, .q4_K: scaleOffsets = [0, 2]
    case .q6_K: scaleOffsets = [208]
    default: scaleOffsets = []
    }
    for b in 0..<blocks {
        for offset in scaleOffsets {
            let value = Float16(Float(Int(next() % 2000) - 1000) / 20000)
            withUnsafeBytes(of: value.bitPattern.littleEndian) { s in
                bytes[b * type.blockBytes + offset] = s[0]
                bytes[b * type.blockBytes + offset + 1] = s[1]
            }
        }
    }
    return bytes
}

@Suite("Quantized dot products")
struct QuantizedDotTests {
    static let types: [GGMLType] = [.q8_0, .q4_0, .q4_1, .q5_0, .q4_K, .q6_K]

    /// The integer path equals "dequantize both sides, then a plain float dot" up to float rounding.
    @Test("equals dequantize-then-dot", arguments: types)
    func matchesReference(type: GGMLType) throws {
        let format = try #require(QuantizedDot.activationFormat(for: type))
        for seed in 1...20 {
            let count = 512
            let weights = randomWeights(type, blocks: count / type.blockSize, seed: UInt64(seed))
            var state = UInt64(seed) &* 0x9E37_79B9_7F4A_7C15
            let x: [Float] = (0..<count).map { i in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let v = Float(Int64(state >> 33) % 2000 - 1000) / 250
                return seed % 5 == 0 && i % 64 == 0 ? 0 : v  // some zero blocks
            }
            let activations = x.withUnsafeBufferPointer { QuantizedDot.quantize($0.baseAddress!, count: count, as: format) }
            let ours = weights.withUnsafeBytes { w in
                activations.withUnsafeBytes { a in QuantizedDot.dot(type, w.baseAddress!, a.baseAddress!, count: count) }
            }
            let w = try weights.withUnsafeBytes { try Dequantize.row(type, $0.baseAddress!, count: count) }
            let a = try activations.withUnsafeBytes { raw -> [Float] in
                switch format {
                case .q8_0, .q8_1:
                    // Q8_1 is Q8_0 with a sum field: read the scale and quants directly.
                    let stride = format.blockBytes, qOffset = format == .q8_0 ? 2 : 4
                    return (0..<count).map { i in
                        let block = raw.baseAddress! + (i / 32) * stride
                        return Dequantize.half(block, 0) * Float(Int8(bitPattern: block.load(fromByteOffset: qOffset + i % 32, as: UInt8.self)))
                    }
                case .q8_K:
                    return (0..<count).map { i in
                        let block = raw.baseAddress! + (i / 256) * 292
                        return block.loadUnaligned(fromByteOffset: 0, as: Float.self)
                            * Float(Int8(bitPattern: block.load(fromByteOffset: 4 + i % 256, as: UInt8.self)))
                    }
                }
            }
            var reference: Double = 0, magnitude: Double = 0
            for i in 0..<count {
                reference += Double(w[i]) * Double(a[i])
                magnitude += abs(Double(w[i]) * Double(a[i]))
            }
            // Q4_1 folds its minimum through the f16-rounded activation sum: allow that rounding.
            let tolerance = type == .q4_1 ? 2e-3 * magnitude + 1e-4 : 1e-5 * magnitude + 1e-6
            #expect(abs(Double(ours) - reference) <= tolerance, "\(type) seed \(seed): \(ours) vs \(reference)")
        }
    }

    @Test("activation quantization: amax maps to ±127, zeros stay zero")
    func quantizeActivations() {
        var x = [Float](repeating: 0, count: 32)
        x[3] = -2.54
        x[7] = 1.27
        let q = x.withUnsafeBufferPointer { QuantizedDot.quantize($0.baseAddress!, count: 32, as: .q8_0) }
        #expect(Int8(bitPattern: q[2 + 3]) == -127)
        #expect(Int8(bitPattern: q[2 + 7]) == 64)  // 1.27 × 127/2.54 = 63.5, rounded half to even
        #expect(q[2 + 0] == 0)
    }
}

@Suite("Multi-column and tiled kernels")
struct BatchedDotTests {
    /// Every output of the several-columns and tiled kernels equals the single dot
    /// product bit for bit (the model's exactness against llama.cpp rests on it).
    @Test(.enabled(if: QuantizedDot.usesAVX2, "the multi-column kernels are AVX2 only"), arguments: [GGMLType.q4_1, .q8_0, .q5_0, .q4_K, .q6_K])
    func sameBitsAsSingle(type: GGMLType) throws {
        let format = try #require(QuantizedDot.activationFormat(for: type))
        let count = type.blockSize == 256 ? 768 : 576, rows = 11, columns = 7
        let weights = randomWeights(type, blocks: rows * count / type.blockSize, seed: 9)
        let rowBytes = count / type.blockSize * type.blockBytes
        var acts: [UInt8] = []
        for c in 0..<columns {
            let scale = Float(c + 1)
            let x: [Float] = (0..<count).map { i -> Float in Float((i * (c + 3) * 7919) % 2001 - 1000) / 500 * scale }
            acts += x.withUnsafeBufferPointer { QuantizedDot.quantize($0.baseAddress!, count: count, as: format) }
        }
        let stride = acts.count / columns
        weights.withUnsafeBytes { w in
            acts.withUnsafeBytes { a in
                var single = [[Float]](repeating: [], count: columns)
                for c in 0..<columns {
                    single[c] = (0..<rows).map { QuantizedDot.fastDot(type, w.baseAddress! + $0 * rowBytes, a.baseAddress! + c * stride, count: count) }
                }
                var tiled = [Float](repeating: .nan, count: rows * columns)
                let ran = tiled.withUnsafeMutableBufferPointer {
                    QuantizedDot.fastMatmulColumns(type, w.baseAddress!, rowBytes: rowBytes, rows: rows, a.baseAddress!, stride: stride,
                                                   columns: columns, count: count, into: $0.baseAddress!, outputStride: rows)
                }
                #expect(ran && tiled == Array(single.joined()))
                for r in 0..<rows {
                    var cols = [Float](repeating: .nan, count: columns)
                    let ok = cols.withUnsafeMutableBufferPointer {
                        QuantizedDot.fastDotColumns(type, w.baseAddress! + r * rowBytes, a.baseAddress!, stride: stride, columns: columns,
                                                    count: count, into: $0.baseAddress!)
                    }
                    #expect(ok && cols == (0..<columns).map { single[$0][r] })
                }
            }
        }
    }
}

@Suite("Eight-row groups")
struct RowGroupTests {
    /// The repacked kernels give the one-row kernel's bits for every row and column, on
    /// random blocks and on blocks at their extremes, for any group-aligned row range (on an
    /// AVX-512 CPU on both SIMD paths: the VNNI x8 kernels of the avx512 path and the AVX2 ones).
    @Test(.enabled(if: QuantizedDot.usesAVX2, "the repacked kernels are AVX2 only"), arguments: [GGMLType.q4_1, .q8_0, .q4_K])
    func sameBitsAsSingle(type: GGMLType) throws {
        let format = try #require(QuantizedDot.activationFormat(for: type))
        let count = 1536, rows = 24, columns = 6  // one group of four columns, then two alone
        var weights = randomWeights(type, blocks: rows * count / type.blockSize, seed: 21)
        let rowBytes = count / type.blockSize * type.blockBytes
        // Row 5 at the quant extremes (Q4_K: its 6-bit scales and mins too).
        for i in (5 * rowBytes)..<(6 * rowBytes) where i % type.blockBytes >= (type == .q8_0 ? 2 : 4) { weights[i] = 0xFF }
        var acts: [UInt8] = []
        for c in 0..<columns {
            let x: [Float] = (0..<count).map { i -> Float in c == 2 ? (i % 2 == 0 ? 1000 : -1000) : Float((i * (c + 5) * 7919) % 2001 - 1000) / 300 }
            acts += x.withUnsafeBufferPointer { QuantizedDot.quantize($0.baseAddress!, count: count, as: format) }
        }
        let stride = acts.count / columns
        // On an AVX-512 CPU both paths: avx512 (Q4_1/Q8_0 through the VNNI kernels) and avx2.
        for path in ISA.current == .avx512 ? [ISA.avx512, .avx2] : [ISA.current] {
            ISA.withThreadPath(path) {
                weights.withUnsafeBytes { w in
                    acts.withUnsafeBytes { a in
                        let groups = RowGroups(type: type, rows: w.baseAddress!, rowBytes: rowBytes, count: rows, columns: count)!
                        for (range, columns) in [(0..<rows, columns), (8..<16, columns), (16..<24, 3), (0..<8, 1)] {
                            var out = [Float](repeating: .nan, count: range.count * columns)
                            let ran = out.withUnsafeMutableBufferPointer {
                                groups.multiply(rows: range, a.baseAddress!, stride: stride, columns: columns, into: $0.baseAddress!,
                                                outputStride: range.count)
                            }
                            #expect(ran)
                            for c in 0..<columns {
                                for r in range {
                                    let single = QuantizedDot.fastDot(type, w.baseAddress! + r * rowBytes, a.baseAddress! + c * stride, count: count)
                                    #expect(out[c * range.count + r - range.lowerBound].bitPattern == single.bitPattern, "\(type) row \(r) column \(c)")
                                }
                            }
                        }
                        var out = [Float](repeating: 0, count: 8)
                        #expect(!groups.multiply(rows: 4..<12, a.baseAddress!, stride: stride, columns: 1, into: &out, outputStride: 0))
                        #expect(!QuantizedDot.withPortableKernels {
                            groups.multiply(rows: 0..<8, a.baseAddress!, stride: stride, columns: 1, into: &out, outputStride: 0)
                        })
                    }
                }
            }
        }
    }

    @Test("types and shapes without the layout are refused")
    func refused() {
        let bytes = [UInt8](repeating: 0, count: 18 * 16)
        bytes.withUnsafeBytes { b in
            #expect(RowGroups(type: .q4_0, rows: b.baseAddress!, rowBytes: 18, count: 16, columns: 32) == nil)
            #expect(RowGroups(type: .q8_0, rows: b.baseAddress!, rowBytes: 34, count: 4, columns: 32) == nil)
            #expect(RowGroups(type: .q4_K, rows: b.baseAddress!, rowBytes: 18, count: 8, columns: 128) == nil)
        }
    }
}

@Suite("Gemma 3 kernels (Q5_0, Q4_K, Q6_K with Q8_K activations)")
struct KQuantKernelTests {
    static let types: [GGMLType] = [.q5_0, .q4_K, .q6_K]

    /// Activation vectors: random, plus edge cases (a lone spike, constant, alternating full
    /// range, a positive maximum, zeros).
    static func activations(_ count: Int) -> [[Float]] {
        var state: UInt64 = 0x1234_5678
        func random() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(state >> 33) % 2000 - 1000) / 137
        }
        var cases = (0..<6).map { _ in (0..<count).map { _ in random() } }
        cases.append((0..<count).map { $0 % 97 == 5 ? 1000 : 0.001 })
        cases.append([Float](repeating: -3.5, count: count))
        cases.append((0..<count).map { $0 % 2 == 0 ? 7.25 : -7.25 })
        cases.append((0..<count).map { $0 == 3 ? 50 : Float($0 % 7) - 3 })
        cases.append([Float](repeating: 0, count: count))
        return cases
    }

    /// Weight rows: random blocks, and blocks with every quant bit set (largest nibbles,
    /// scales and mins).
    static func weights(_ type: GGMLType, count: Int) -> [[UInt8]] {
        var rows = (1...6).map { randomWeights(type, blocks: count / type.blockSize, seed: UInt64($0) * 77) }
        var full = [UInt8](repeating: 0xFF, count: count / type.blockSize * type.blockBytes)
        let scale = Float16(0.0123).bitPattern
        for b in 0..<(count / type.blockSize) {
            let offsets = type == .q6_K ? [208] : type == .q4_K ? [0, 2] : [0]
            for o in offsets {
                full[b * type.blockBytes + o] = UInt8(scale & 0xFF)
                full[b * type.blockBytes + o + 1] = UInt8(scale >> 8)
            }
        }
        rows.append(full)
        return rows
    }

    @Test("AVX2 and portable kernels give the same bits; both match the reference", arguments: types)
    func kernels(type: GGMLType) throws {
        let format = try #require(QuantizedDot.activationFormat(for: type))
        let count = 1024
        for (xi, x) in Self.activations(count).enumerated() {
            let a = x.withUnsafeBufferPointer { QuantizedDot.quantize($0.baseAddress!, count: count, as: format) }
            // The C quantizer writes the reference's bytes.
            var fast = [UInt8](repeating: 0, count: a.count)
            x.withUnsafeBufferPointer { xp in
                fast.withUnsafeMutableBytes { QuantizedDot.fastQuantize(xp.baseAddress!, count: count, as: format, into: $0.baseAddress!) }
            }
            #expect(fast == a, "\(format) quantization of case \(xi)")
            for (wi, w) in Self.weights(type, count: count).enumerated() {
                w.withUnsafeBytes { wp in
                    a.withUnsafeBytes { ap in
                        let simd = QuantizedDot.fastDot(type, wp.baseAddress!, ap.baseAddress!, count: count)
                        let portable = QuantizedDot.withPortableKernels {
                            QuantizedDot.fastDot(type, wp.baseAddress!, ap.baseAddress!, count: count)
                        }
                        let reference = QuantizedDot.dot(type, wp.baseAddress!, ap.baseAddress!, count: count)
                        #expect(simd.bitPattern == portable.bitPattern, "\(type) x\(xi) w\(wi): \(simd) vs portable \(portable)")
                        let wf = try! Dequantize.row(type, wp.baseAddress!, count: count)
                        var magnitude: Float = 0
                        for i in 0..<count { magnitude += abs(wf[i] * x[i]) }
                        #expect(abs(simd - reference) <= 1e-5 * magnitude + 1e-6, "\(type) x\(xi) w\(wi): \(simd) vs reference \(reference)")
                    }
                }
            }
        }
    }

    @Test("Q8_K: the largest-magnitude element maps to -127 and d carries its sign")
    func q8K() {
        var x = [Float](repeating: 0.5, count: 256)
        x[5] = 2
        x[9] = -2  // same magnitude, later: the first one wins
        let q = x.withUnsafeBufferPointer { QuantizedDot.quantize($0.baseAddress!, count: 256, as: .q8_K) }
        let d = q.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0, as: Float.self) }
        #expect(Int8(bitPattern: q[4 + 5]) == -127)
        #expect(Int8(bitPattern: q[4 + 9]) == 127)
        #expect(Int8(bitPattern: q[4 + 0]) == -32)  // 0.5 × -127/2 = -31.75
        #expect(d == 1 / (-127 / Float(2)))
        let sum0 = q.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 260, as: Int16.self) }
        #expect(sum0 == -127 + 127 - 32 * 14)
    }
}
