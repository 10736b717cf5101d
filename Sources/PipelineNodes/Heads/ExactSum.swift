/// A sum of Float32 vectors that is exact, so it does not depend on the order of the additions.
///
/// Each component is a 256-bit two's-complement fixed-point number whose lowest bit is 2⁻¹⁴⁹
/// (the smallest Float32 subnormal), so every finite Float32 below 2⁴⁰ in magnitude is an
/// integer in it and adding one is integer addition: associative and commutative. That is
/// what lets a head rebuilt after crashes (examples committed in another order) equal, bit
/// for bit, the head built in one pass. 2⁴⁰ · 2⁶⁵ of headroom is far beyond any count of
/// examples. `value(at:)` rounds the exact sum to a Double the same way every time.
public struct ExactSum: Sendable, Equatable {
    /// The largest magnitude a component may have (2⁴⁰); larger ones are refused by `add`.
    public static let limit: Float = 1_099_511_627_776
    /// Four 64-bit limbs per component, least significant first.
    public private(set) var limbs: [UInt64]
    public let dimension: Int

    public init(dimension: Int) {
        self.dimension = dimension
        limbs = [UInt64](repeating: 0, count: dimension * 4)
    }

    /// Whether every component of `vector` can be added (finite, below `limit`).
    public static func accepts(_ vector: [Float]) -> Int? {
        vector.firstIndex { !$0.isFinite || abs($0) >= limit }
    }

    /// Adds `vector` (same dimension, every component accepted by `accepts`).
    public mutating func add(_ vector: [Float]) {
        precondition(vector.count == dimension)
        limbs.withUnsafeMutableBufferPointer { l in
            for (i, x) in vector.enumerated() where x != 0 {
                let bits = x.bitPattern
                let exponent = Int((bits >> 23) & 0xff)
                let fraction = UInt64(bits & 0x7f_ffff)
                // x = mantissa · 2^(position − 149)
                let mantissa = exponent == 0 ? fraction : fraction | 0x80_0000
                let position = exponent == 0 ? 0 : exponent - 1
                Self.add(mantissa, shift: position, negative: x.sign == .minus, into: l, at: i * 4)
            }
        }
    }

    private static func add(
        _ m: UInt64, shift: Int, negative: Bool, into l: UnsafeMutableBufferPointer<UInt64>, at base: Int
    ) {
        // The shifted 24-bit mantissa spans at most two limbs (limb ≤ 2 below the limit).
        let limb = shift / 64, bit = UInt64(shift % 64)
        let low = m << bit
        let high = bit > 40 ? m >> (64 - bit) : 0
        // The addend's limbs: (low, high) at `limb`, `limb + 1`; a negative one is its two's
        // complement, which fills the limbs above with ones.
        var carry: UInt64 = negative ? 1 : 0
        for k in 0..<4 {
            var word: UInt64 = k == limb ? low : (k == limb + 1 ? high : 0)
            if negative { word = ~word }
            let (a, o1) = l[base + k].addingReportingOverflow(word)
            let (b, o2) = a.addingReportingOverflow(carry)
            l[base + k] = b
            carry = (o1 || o2) ? 1 : 0
        }
    }

    /// The exact sum of component `i`, rounded to a Double (deterministically).
    public func value(at i: Int) -> Double {
        var w = (limbs[i * 4], limbs[i * 4 + 1], limbs[i * 4 + 2], limbs[i * 4 + 3])
        let negative = w.3 >> 63 == 1
        if negative {
            // negate: invert and add one
            var c: Bool
            (w.0, c) = (~w.0).addingReportingOverflow(1)
            (w.1, c) = (~w.1).addingReportingOverflow(c ? 1 : 0)
            (w.2, c) = (~w.2).addingReportingOverflow(c ? 1 : 0)
            w.3 = ~w.3 &+ (c ? 1 : 0)
        }
        func scaled(_ limb: UInt64, _ k: Int) -> Double {
            limb == 0 ? 0 : Double(limb) * Double(sign: .plus, exponent: 64 * k - 149, significand: 1)
        }
        let total = scaled(w.3, 3) + scaled(w.2, 2) + scaled(w.1, 1) + scaled(w.0, 0)
        return negative ? -total : total
    }

    /// Every component, rounded to Doubles.
    public var values: [Double] { (0..<dimension).map(value(at:)) }
}
