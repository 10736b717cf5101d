import CKernels

/// Quantized dot products as ggml's CPU path computes them: activations are quantized per
/// block to the weight type's companion format (Q8_0, Q8_1 or Q8_K), then each block pair is
/// an integer multiply-add scaled by both blocks' scales, with minimums folded in through the
/// activation block sums. This file is the plain reference; SIMD kernels are tested against it.
public enum QuantizedDot {
    /// The activation format a weight type multiplies with.
    public enum ActivationFormat: Sendable, Equatable {
        /// f16 scale + 32 × i8 (34 bytes).
        case q8_0
        /// f16 scale, f16 (scale × sum of quants) + 32 × i8 (36 bytes).
        case q8_1
        /// f32 scale + 256 × i8 + 16 × i16 group sums (292 bytes).
        case q8_K

        public var blockSize: Int { self == .q8_K ? 256 : 32 }
        public var blockBytes: Int {
            switch self {
            case .q8_0: return 34
            case .q8_1: return 36
            case .q8_K: return 292
            }
        }
    }

    public static func activationFormat(for type: GGMLType) -> ActivationFormat? {
        switch type {
        case .q8_0, .q4_0, .q5_0: return .q8_0
        case .q4_1: return .q8_1
        case .q4_K, .q6_K: return .q8_K
        default: return nil
        }
    }

    /// Quantizes `count` floats into activation blocks.
    public static func quantize(_ x: UnsafePointer<Float>, count: Int, as format: ActivationFormat) -> [UInt8] {
        precondition(count % format.blockSize == 0, "activation length must be whole blocks")
        var out = [UInt8](repeating: 0, count: count / format.blockSize * format.blockBytes)
        out.withUnsafeMutableBytes { raw in
            let base = raw.baseAddress!
            for b in 0..<(count / format.blockSize) {
                let xs = x + b * format.blockSize
                let block = base + b * format.blockBytes
                if format == .q8_K {
                    quantizeQ8K(xs, into: block)
                    continue
                }
                var amax: Float = 0
                for j in 0..<format.blockSize { amax = max(amax, abs(xs[j])) }
                // As ggml's x86 kernels do: scale by 127/amax (not 1/d) and round half to even.
                let d = amax / 127
                let id: Float = amax != 0 ? 127 / amax : 0
                let qOffset = format == .q8_0 ? 2 : format == .q8_1 ? 4 : 4
                var sum = 0
                for j in 0..<format.blockSize {
                    let q = Int8((xs[j] * id).rounded(.toNearestOrEven))
                    block.storeBytes(of: UInt8(bitPattern: q), toByteOffset: qOffset + j, as: UInt8.self)
                    sum += Int(q)
                }
                switch format {
                case .q8_0:
                    block.storeBytes(of: Float16(d).bitPattern, toByteOffset: 0, as: UInt16.self)
                case .q8_1:
                    block.storeBytes(of: Float16(d).bitPattern, toByteOffset: 0, as: UInt16.self)
                    block.storeBytes(of: Float16(d * Float(sum)).bitPattern, toByteOffset: 2, as: UInt16.self)
                case .q8_K:
                    break
                }
            }
        }
        return out
    }

    /// One Q8_K block as ggml's quantize_row_q8_K_ref (the path x86 takes): the element of
    /// largest magnitude (the first on ties) maps to -127 through iscale = -127/max, products
    /// round half to even (capped at 127), d = 1/iscale, then 16 sums of 16 quants.
    private static func quantizeQ8K(_ xs: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        var amax: Float = 0, maxValue: Float = 0
        for j in 0..<256 where abs(xs[j]) > amax {
            amax = abs(xs[j])
            maxValue = xs[j]
        }
        guard amax != 0 else {
            block.initializeMemory(as: UInt8.self, repeating: 0, count: 292)
            return
        }
        let iscale = -127 / maxValue
        var quants = [Int8](repeating: 0, count: 256)
        for j in 0..<256 { quants[j] = Int8(min(127, (iscale * xs[j]).rounded(.toNearestOrEven))) }
        for j in 0..<256 { block.storeBytes(of: UInt8(bitPattern: quants[j]), toByteOffset: 4 + j, as: UInt8.self) }
        for g in 0..<16 {
            let sum = quants[(16 * g)..<(16 * g + 16)].reduce(0) { $0 + Int($1) }
            block.storeBytes(of: Int16(sum), toByteOffset: 260 + 2 * g, as: Int16.self)
        }
        block.storeBytes(of: 1 / iscale, toByteOffset: 0, as: Float.self)
    }

    /// Dot product of one weight row (`count` elements of `type`) with activation blocks in
    /// the type's activation format.
    public static func dot(_ type: GGMLType, _ w: UnsafeRawPointer, _ a: UnsafeRawPointer, count: Int) -> Float {
        let h = Dequantize.half
        var total: Float = 0
        switch type {
        case .q8_0:
            for b in 0..<(count / 32) {
                let wb = w + 34 * b, ab = a + 34 * b
                var s: Int32 = 0
                for j in 0..<32 { s += Int32(i8(wb, 2 + j)) * Int32(i8(ab, 2 + j)) }
                total += h(wb, 0) * h(ab, 0) * Float(s)
            }
        case .q4_0:
            for b in 0..<(count / 32) {
                let wb = w + 18 * b, ab = a + 34 * b
                var s: Int32 = 0
                for j in 0..<16 {
                    let q = wb.load(fromByteOffset: 2 + j, as: UInt8.self)
                    s += (Int32(q & 0x0F) - 8) * Int32(i8(ab, 2 + j)) + (Int32(q >> 4) - 8) * Int32(i8(ab, 18 + j))
                }
                total += h(wb, 0) * h(ab, 0) * Float(s)
            }
        case .q4_1:
            for b in 0..<(count / 32) {
                let wb = w + 20 * b, ab = a + 36 * b
                var s: Int32 = 0
                for j in 0..<16 {
                    let q = wb.load(fromByteOffset: 4 + j, as: UInt8.self)
                    s += Int32(q & 0x0F) * Int32(i8(ab, 4 + j)) + Int32(q >> 4) * Int32(i8(ab, 20 + j))
                }
                // sum(nibble*d + m) * (qa*da) = d*da*sum(nibble*qa) + m*(da*sum(qa)).
                total += h(wb, 0) * h(ab, 0) * Float(s) + h(wb, 2) * h(ab, 2)
            }
        case .q5_0:
            for b in 0..<(count / 32) {
                let wb = w + 22 * b, ab = a + 34 * b
                let qh = wb.loadUnaligned(fromByteOffset: 2, as: UInt32.self).littleEndian
                var s: Int32 = 0
                for j in 0..<16 {
                    let q = wb.load(fromByteOffset: 6 + j, as: UInt8.self)
                    let lo = Int32(q & 0x0F) | Int32((qh >> UInt32(j)) & 1) << 4
                    let hi = Int32(q >> 4) | Int32((qh >> UInt32(j + 16)) & 1) << 4
                    s += (lo - 16) * Int32(i8(ab, 2 + j)) + (hi - 16) * Int32(i8(ab, 18 + j))
                }
                total += h(wb, 0) * h(ab, 0) * Float(s)
            }
        case .q4_K:
            for b in 0..<(count / 256) {
                let wb = w + 144 * b, ab = a + 292 * b
                let scales = (0..<12).map { wb.load(fromByteOffset: 4 + $0, as: UInt8.self) }
                var sumScaled: Int32 = 0, sumMins: Int32 = 0
                for sub in 0..<8 {
                    let (sc, m) = Dequantize.scaleMin(sub, scales)
                    let chunk = sub / 2, high = sub % 2 == 1
                    var s: Int32 = 0
                    for l in 0..<32 {
                        let byte = wb.load(fromByteOffset: 16 + 32 * chunk + l, as: UInt8.self)
                        s += Int32(high ? byte >> 4 : byte & 0x0F) * Int32(i8(ab, 4 + 32 * sub + l))
                    }
                    sumScaled += Int32(sc) * s
                    // The sub-block's activation sum is two 16-element group sums.
                    let groupSum = Int32(ab.loadUnaligned(fromByteOffset: 260 + 4 * sub, as: Int16.self))
                        + Int32(ab.loadUnaligned(fromByteOffset: 262 + 4 * sub, as: Int16.self))
                    sumMins += Int32(m) * groupSum
                }
                let da = ab.loadUnaligned(fromByteOffset: 0, as: Float.self)
                total += da * (h(wb, 0) * Float(sumScaled) - h(wb, 2) * Float(sumMins))
            }
        case .q6_K:
            for b in 0..<(count / 256) {
                let wb = w + 210 * b, ab = a + 292 * b
                var s: Int32 = 0
                for element in 0..<256 {
                    let half = element / 128, r = element % 128, quarter = r / 32, l = r % 32
                    let qh = wb.load(fromByteOffset: 128 + 32 * half + l, as: UInt8.self)
                    let ql = wb.load(fromByteOffset: 64 * half + (quarter % 2) * 32 + l, as: UInt8.self)
                    let low = quarter < 2 ? ql & 0x0F : ql >> 4
                    let q = Int32(low | ((qh >> UInt8(2 * quarter)) & 3) << 4) - 32
                    let scale = Int32(i8(wb, 192 + element / 16))
                    s += scale * q * Int32(i8(ab, 4 + element))
                }
                total += h(wb, 208) * ab.loadUnaligned(fromByteOffset: 0, as: Float.self) * Float(s)
            }
        default:
            preconditionFailure("no quantized dot product for \(type)")
        }
        return total
    }

    @inline(__always) private static func i8(_ p: UnsafeRawPointer, _ offset: Int) -> Int8 {
        Int8(bitPattern: p.load(fromByteOffset: offset, as: UInt8.self))
    }
}


extension QuantizedDot {
    /// The fastest kernel for a weight type: C with AVX2 where the CPU has it, else the
    /// scalar reference. The C kernels keep the float order of the ggml kernels llama.cpp
    /// runs on AVX2 (for Q4_K: its repacked 8-row gemv, which it uses for matrices whose
    /// row count is a multiple of 8).
    public static func fastDot(_ type: GGMLType, _ w: UnsafeRawPointer, _ a: UnsafeRawPointer, count: Int) -> Float {
        switch type {
        case .q8_0: return pl_dot_q8_0_q8_0(w, a, Int32(count))
        case .q4_0: return pl_dot_q4_0_q8_0(w, a, Int32(count))
        case .q4_1: return pl_dot_q4_1_q8_1(w, a, Int32(count))
        case .q5_0: return pl_dot_q5_0_q8_0(w, a, Int32(count))
        case .q4_K: return pl_dot_q4_K_q8_K(w, a, Int32(count))
        case .q6_K: return pl_dot_q6_K_q8_K(w, a, Int32(count))
        default: return dot(type, w, a, count: count)
        }
    }

    /// True when the AVX2 quantized kernels run on this thread: the avx2 path, and the avx512
    /// path, which keeps them (llama.cpp's native build runs the same 8-lane loops for these
    /// types) where it has no kernel of its own.
    public static var usesAVX2: Bool { ISA.current == .avx2 || ISA.current == .avx512 }

    /// Runs `body` with the portable C kernels forced on this thread (to test them against the
    /// SIMD ones).
    public static func withPortableKernels<T>(_ body: () throws -> T) rethrows -> T {
        try ISA.withThreadPath(.portable, body)
    }
}

extension QuantizedDot {
    /// Quantizes activations into `out` (count / blockSize × blockBytes bytes) with the C
    /// kernels; they give the same bytes as `quantize`.
    public static func fastQuantize(_ x: UnsafePointer<Float>, count: Int, as format: ActivationFormat, into out: UnsafeMutableRawPointer) {
        switch format {
        case .q8_0: pl_quantize_q8_0(x, out, Int32(count))
        case .q8_1: pl_quantize_q8_1(x, out, Int32(count))
        case .q8_K: pl_quantize_q8_K(x, out, Int32(count))
        }
    }
}

extension QuantizedDot {
    /// One weight row against `columns` activation vectors `stride` bytes apart into `out`;
    /// false (nothing written) where no multi-column kernel exists for the type or CPU.
    public static func fastDotColumns(_ type: GGMLType, _ w: UnsafeRawPointer, _ a: UnsafeRawPointer, stride: Int, columns: Int,
                                      count: Int, into out: UnsafeMutablePointer<Float>) -> Bool {
        pl_dot_cols(Int32(type.rawValue), w, a, Int32(stride), Int32(columns), Int32(count), out) != 0
    }
}

extension QuantizedDot {
    /// out[c × outputStride + r] = weight row r · activation column c, tiled for cache reuse and
    /// bit-identical to `fastDot`; false (nothing written) where no kernel exists.
    public static func fastMatmulColumns(_ type: GGMLType, _ w: UnsafeRawPointer, rowBytes: Int, rows: Int, _ a: UnsafeRawPointer,
                                         stride: Int, columns: Int, count: Int, into out: UnsafeMutablePointer<Float>,
                                         outputStride: Int) -> Bool {
        pl_matmul_cols(Int32(type.rawValue), w, Int32(rowBytes), Int32(rows), a, Int32(stride), Int32(columns), Int32(count),
                       out, Int32(outputStride)) != 0
    }
}
