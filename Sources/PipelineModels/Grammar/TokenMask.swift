/// Which tokens may come next: one bit per token id.
public struct TokenMask: Sendable, Equatable {
    public private(set) var bits: [UInt64]
    /// How many tokens are allowed.
    public private(set) var allowedCount = 0

    public init(count: Int) {
        bits = [UInt64](repeating: 0, count: (count + 63) / 64)
    }

    @inline(__always)
    public func allows(_ token: Int) -> Bool {
        token >= 0 && token / 64 < bits.count && bits[token / 64] & (1 << UInt64(token % 64)) != 0
    }

    @inline(__always)
    mutating func allow(_ token: Int) {
        let bit: UInt64 = 1 << UInt64(token % 64)
        if bits[token / 64] & bit == 0 {
            bits[token / 64] |= bit
            allowedCount += 1
        }
    }

    /// Adds every token `other` allows.
    mutating func formUnion(_ other: TokenMask) {
        var count = 0
        for w in bits.indices {
            bits[w] |= other.bits[w]
            count += bits[w].nonzeroBitCount
        }
        allowedCount = count
    }

    /// Sets the logits of tokens that are not allowed to -infinity.
    public func apply(to logits: inout [Float]) {
        logits.withUnsafeMutableBufferPointer { l in
            let n = l.count
            for w in 0..<min(bits.count, (n + 63) / 64) {
                let word = bits[w]
                if word == .max { continue }
                let base = w * 64
                for b in 0..<min(64, n - base) where word & (1 << UInt64(b)) == 0 {
                    l[base + b] = -.infinity
                }
            }
        }
    }

    /// The allowed token ids, in order.
    public var allowed: [Int] {
        var out: [Int] = []
        for (w, word) in bits.enumerated() where word != 0 {
            for b in 0..<64 where word & (1 << UInt64(b)) != 0 { out.append(w * 64 + b) }
        }
        return out
    }
}
