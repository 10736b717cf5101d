/// Plain (scalar) dequantization of ggml blocks to Float: the reference every faster kernel
/// is tested against. Layouts: /work/shared/notes/gguf.md and ggml's block structs.
public enum Dequantize {
    /// Why a row could not be dequantized.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case unsupported(GGMLType)
        case badLength(GGMLType, Int)

        public var description: String {
            switch self {
            case .unsupported(let type): return "dequantizing \(type) is not supported"
            case let .badLength(type, n): return "\(n) elements is not a whole number of \(type) blocks"
            }
        }
    }

    /// The types this file dequantizes.
    public static let supported: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q4_K, .q6_K]

    /// Dequantizes `count` elements stored at `source` (whole blocks) into `destination`.
    public static func row(
        _ type: GGMLType, _ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>
    ) throws {
        guard count % type.blockSize == 0 else { throw Failure.badLength(type, count) }
        let blocks = count / type.blockSize
        switch type {
        case .f32:
            for i in 0..<count { destination[i] = source.loadUnaligned(fromByteOffset: 4 * i, as: Float.self) }
        case .f16:
            for i in 0..<count { destination[i] = Float(half(source, 2 * i)) }
        case .bf16:
            for i in 0..<count {
                destination[i] = Float(bitPattern: UInt32(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
            }
        case .q8_0:
            for b in 0..<blocks {
                let block = source + b * 34
                let d = half(block, 0)
                for j in 0..<32 {
                    destination[b * 32 + j] = d * Float(Int8(bitPattern: block.load(fromByteOffset: 2 + j, as: UInt8.self)))
                }
            }
        case .q4_0:
            for b in 0..<blocks {
                let block = source + b * 18
                let d = half(block, 0)
                for j in 0..<16 {
                    let q = block.load(fromByteOffset: 2 + j, as: UInt8.self)
                    destination[b * 32 + j] = Float(Int(q & 0x0F) - 8) * d
                    destination[b * 32 + j + 16] = Float(Int(q >> 4) - 8) * d
                }
            }
        case .q4_1:
            for b in 0..<blocks {
                let block = source + b * 20
                let d = half(block, 0), m = half(block, 2)
                for j in 0..<16 {
                    let q = block.load(fromByteOffset: 4 + j, as: UInt8.self)
                    destination[b * 32 + j] = Float(q & 0x0F) * d + m
                    destination[b * 32 + j + 16] = Float(q >> 4) * d + m
                }
            }
        case .q5_0:
            for b in 0..<blocks {
                let block = source + b * 22
                let d = half(block, 0)
                let qh = block.loadUnaligned(fromByteOffset: 2, as: UInt32.self).littleEndian
                for j in 0..<16 {
                    let q = block.load(fromByteOffset: 6 + j, as: UInt8.self)
                    let high0 = UInt8(truncatingIfNeeded: (qh >> UInt32(j)) & 1) << 4
                    let high1 = UInt8(truncatingIfNeeded: (qh >> UInt32(j + 16)) & 1) << 4
                    destination[b * 32 + j] = Float(Int((q & 0x0F) | high0) - 16) * d
                    destination[b * 32 + j + 16] = Float(Int((q >> 4) | high1) - 16) * d
                }
            }
        case .q4_K:
            for b in 0..<blocks {
                let block = source + b * 144
                let d = half(block, 0), dmin = half(block, 2)
                let scales = (0..<12).map { block.load(fromByteOffset: 4 + $0, as: UInt8.self) }
                for chunk in 0..<4 {
                    for half in 0..<2 {
                        let s = 2 * chunk + half
                        let (sc, m) = scaleMin(s, scales)
                        for l in 0..<32 {
                            let byte = block.load(fromByteOffset: 16 + 32 * chunk + l, as: UInt8.self)
                            let q = half == 0 ? byte & 0x0F : byte >> 4
                            destination[b * 256 + 64 * chunk + 32 * half + l] = d * Float(sc) * Float(q) - dmin * Float(m)
                        }
                    }
                }
            }
        case .q6_K:
            for b in 0..<blocks {
                let block = source + b * 210
                let d = half(block, 208)
                for h in 0..<2 {
                    for l in 0..<32 {
                        let qh = block.load(fromByteOffset: 128 + 32 * h + l, as: UInt8.self)
                        let ql0 = block.load(fromByteOffset: 64 * h + l, as: UInt8.self)
                        let ql1 = block.load(fromByteOffset: 64 * h + 32 + l, as: UInt8.self)
                        let q: [(Int, UInt8)] = [
                            (0, (ql0 & 0x0F) | ((qh & 3) << 4)),
                            (32, (ql1 & 0x0F) | (((qh >> 2) & 3) << 4)),
                            (64, (ql0 >> 4) | (((qh >> 4) & 3) << 4)),
                            (96, (ql1 >> 4) | (((qh >> 6) & 3) << 4)),
                        ]
                        for (shift, value) in q {
                            let element = 128 * h + shift + l
                            let scale = Int8(bitPattern: block.load(fromByteOffset: 192 + element / 16, as: UInt8.self))
                            destination[b * 256 + element] = d * Float(scale) * Float(Int(value) - 32)
                        }
                    }
                }
            }
        default:
            throw Failure.unsupported(type)
        }
    }

    /// Dequantizes into a new array.
    public static func row(_ type: GGMLType, _ source: UnsafeRawPointer, count: Int) throws -> [Float] {
        var out = [Float](repeating: 0, count: count)
        try out.withUnsafeMutableBufferPointer { try row(type, source, count: count, into: $0.baseAddress!) }
        return out
    }

    @inline(__always) static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    /// Q4_K's 6-bit scale and min for sub-block `s` (0-7) from its 12 packed bytes.
    @inline(__always) static func scaleMin(_ s: Int, _ q: [UInt8]) -> (UInt8, UInt8) {
        if s < 4 { return (q[s] & 63, q[s + 4] & 63) }
        return ((q[s + 4] & 0x0F) | ((q[s - 4] >> 6) << 4), (q[s + 4] >> 4) | ((q[s] >> 6) << 4))
    }
}
