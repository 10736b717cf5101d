import Testing

@testable import PipelineTensor

/// Hand-built blocks with values worked out from the layouts in shared/notes/gguf.md.
@Suite("Dequantize (hand-built blocks)")
struct DequantizeTests {
    func half(_ f: Float) -> [UInt8] {
        withUnsafeBytes(of: Float16(f).bitPattern.littleEndian) { Array($0) }
    }

    func run(_ type: GGMLType, _ bytes: [UInt8], count: Int) throws -> [Float] {
        try bytes.withUnsafeBytes { try Dequantize.row(type, $0.baseAddress!, count: count) }
    }

    @Test("Q4_0: (nibble - 8) * d, low nibbles first")
    func q4_0() throws {
        var block = half(0.5)
        block += (0..<16).map { UInt8($0) | UInt8(15 - $0) << 4 }
        let out = try run(.q4_0, block, count: 32)
        #expect(out[0] == -4)  // (0 - 8) * 0.5
        #expect(out[15] == 3.5)  // (15 - 8) * 0.5
        #expect(out[16] == 3.5)  // high nibble of byte 0 is 15
        #expect(out[31] == -4)
    }

    @Test("Q4_1: nibble * d + m")
    func q4_1() throws {
        var block = half(2) + half(-1)
        block += [UInt8](repeating: 0x3A, count: 16)  // low 10, high 3
        let out = try run(.q4_1, block, count: 32)
        #expect(out[0] == 19)
        #expect(out[16] == 5)
    }

    @Test("Q8_0: signed bytes times d")
    func q8_0() throws {
        var block = half(0.25)
        block += (0..<32).map { UInt8(bitPattern: Int8($0 - 16)) }
        let out = try run(.q8_0, block, count: 32)
        #expect(out == (0..<32).map { Float($0 - 16) * 0.25 })
    }

    @Test("Q5_0: fifth bit from qh, minus 16")
    func q5_0() throws {
        var block = half(1)
        let qh: UInt32 = 1 << 0 | 1 << 17  // element 0 and element 17 get the high bit
        block += withUnsafeBytes(of: qh.littleEndian) { Array($0) }
        block += [UInt8](repeating: 0x21, count: 16)  // low 1, high 2
        let out = try run(.q5_0, block, count: 32)
        #expect(out[0] == Float(1 + 16 - 16))
        #expect(out[1] == Float(1 - 16))
        #expect(out[16] == Float(2 - 16))
        #expect(out[17] == Float(2 + 16 - 16))
    }

    @Test("Q4_K: 6-bit scales and mins, chunks of 64")
    func q4_K() throws {
        var block = half(1) + half(0.5)
        // Sub-blocks 0-3: scale s+1, min s; sub-blocks 4-7: scale 2, min 1 (low 4 bits in bytes 8-11).
        var scales = [UInt8](repeating: 0, count: 12)
        for s in 0..<4 {
            scales[s] = UInt8(s + 1)
            scales[s + 4] = UInt8(s)
        }
        for s in 4..<8 { scales[s + 4] = 2 | 1 << 4 }
        block += scales
        block += [UInt8](repeating: 0x73, count: 128)  // low 3, high 7
        let out = try run(.q4_K, block, count: 256)
        #expect(out[0] == 1 * 1 * 3 - 0.5 * 0)  // sub-block 0: scale 1, min 0, low nibble
        #expect(out[32] == 1 * 2 * 7 - 0.5 * 1)  // sub-block 1: scale 2, min 1, high nibble
        #expect(out[64] == 1 * 3 * 3 - 0.5 * 2)  // sub-block 2
        #expect(out[128] == 1 * 2 * 3 - 0.5 * 1)  // sub-block 4
    }

    @Test("Q6_K: low 4 + high 2 bits, signed scales, d last")
    func q6_K() throws {
        var block = [UInt8](repeating: 0x21, count: 128)  // ql: low 1, high 2
        block += [UInt8](repeating: 0b1110_0100, count: 64)  // qh: 0, 1, 2, 3 for the four quarters
        block += (0..<16).map { UInt8(bitPattern: Int8($0 - 8)) }
        block += half(0.5)
        let out = try run(.q6_K, block, count: 256)
        // element 0: q = 1 | 0 << 4 = 1; scale index 0 = -8.
        #expect(out[0] == 0.5 * -8 * Float(1 - 32))
        // element 32: q = 1 | 1 << 4 = 17; scale index 2 = -6.
        #expect(out[32] == 0.5 * -6 * Float(17 - 32))
        // element 64: q = 2 | 2 << 4 = 34; scale index 4 = -4.
        #expect(out[64] == 0.5 * -4 * Float(34 - 32))
        // element 96: q = 2 | 3 << 4 = 50; scale index 6 = -2.
        #expect(out[96] == 0.5 * -2 * Float(50 - 32))
    }

    @Test("F16 and BF16")
    func floats() throws {
        #expect(try run(.f16, half(1.5) + half(-2), count: 2) == [1.5, -2])
        let bf: [UInt8] = [0x80, 0x3F, 0x00, 0xC0]  // 1.0, -2.0
        #expect(try run(.bf16, bf, count: 2) == [1, -2])
    }

    @Test("partial blocks and unsupported types are errors")
    func errors() {
        #expect(throws: Dequantize.Failure.badLength(.q8_0, 31)) { try run(.q8_0, [UInt8](repeating: 0, count: 34), count: 31) }
        #expect(throws: Dequantize.Failure.unsupported(.q2_K)) { try run(.q2_K, [UInt8](repeating: 0, count: 84), count: 256) }
    }
}
