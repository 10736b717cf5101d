/// GBNF for the decimal integers in a range, digit by digit (no leading zeros, no "-0"):
/// how a schema's `minimum`/`maximum` on integers is enforced exactly.
enum IntegerRange {
    /// An expression matching exactly the integers in [low, high] (nil: unbounded).
    static func gbnf(low: Int64?, high: Int64?) -> String {
        var alts: [String] = []
        // Negative values in [low, min(high, -1)]: "-" and a magnitude.
        if (low ?? -1) < 0 {
            let upper = min(high ?? -1, -1)
            if low.map({ $0 <= upper }) ?? true {
                alts.append("\"-\" (" + positive(UInt64(-upper), low.map { UInt64(-$0) }) + ")")
            }
        }
        // Non-negative values.
        let nonNegLow = UInt64(max(0, low ?? 0))
        if high.map({ $0 >= 0 && UInt64($0) >= nonNegLow }) ?? true {
            let body = positive(nonNegLow, high.map { UInt64($0) })
            if !body.isEmpty { alts.append(body) }
        }
        return alts.isEmpty ? "\"\"" : "(" + alts.joined(separator: " | ") + ")"
    }

    static func digits(_ v: UInt64) -> Int { String(v).count }
    static func pow10(_ n: Int) -> UInt64 { (0..<n).reduce(1) { a, _ in a * 10 } }

    /// Integers in [a, b] (b nil: unbounded) written without leading zeros.
    static func positive(_ a: UInt64, _ b: UInt64?) -> String {
        var alts: [String] = []
        let da = digits(a)
        if let b {
            guard a <= b else { return "" }
            for length in da...digits(b) {
                let lo = max(a, length == 1 ? 0 : pow10(length - 1))
                let hi = min(b, pow10(length) - 1)
                if lo <= hi { alts.append(fixed(Array(String(lo)), Array(String(hi)))) }
            }
        } else {
            alts.append(fixed(Array(String(a)), Array(String(pow10(da) - 1))))
            alts.append("[1-9] [0-9]{\(da),}")
        }
        return alts.joined(separator: " | ")
    }

    /// Digit strings of one length between lo and hi inclusive.
    static func fixed(_ lo: [Character], _ hi: [Character]) -> String {
        let n = lo.count
        if n == 0 { return "" }
        if lo == hi { return "\"" + String(lo) + "\"" }
        let restLo = Array(lo.dropFirst()), restHi = Array(hi.dropFirst())
        let anyRest = n > 1 ? " [0-9]{\(n - 1)}" : ""
        if restLo.allSatisfy({ $0 == "0" }) && restHi.allSatisfy({ $0 == "9" }) {
            return "[\(lo[0])-\(hi[0])]" + anyRest
        }
        if lo[0] == hi[0] { return "\"\(lo[0])\" (" + fixed(restLo, restHi) + ")" }
        var alts: [String] = []
        alts.append("\"\(lo[0])\" (" + fixed(restLo, Array(repeating: "9", count: n - 1)) + ")")
        let l = lo[0].wholeNumberValue! + 1, h = hi[0].wholeNumberValue! - 1
        if l <= h { alts.append("[\(l)-\(h)]" + anyRest) }
        alts.append("\"\(hi[0])\" (" + fixed(Array(repeating: "0", count: n - 1), restHi) + ")")
        return alts.joined(separator: " | ")
    }
}
