/// Joins token bytes and hands out only whole UTF-8 characters, so a character split across
/// tokens (emoji, CJK) is emitted once it is complete; invalid bytes become U+FFFD.
public struct UTF8Stream: Sendable {
    private var pending: [UInt8] = []

    public init() {}

    /// Adds bytes and returns the text that is complete so far.
    public mutating func push(_ bytes: [UInt8]) -> String {
        pending += bytes
        var cut = pending.count
        // Hold back an incomplete sequence at the end (at most 3 bytes).
        var back = 0
        while back < min(3, pending.count) {
            let b = pending[pending.count - 1 - back]
            if b & 0xC0 == 0x80 {
                back += 1
                continue
            }
            let need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
            if need > back + 1 { cut = pending.count - 1 - back }
            break
        }
        let text = String(decoding: pending[..<cut], as: UTF8.self)
        pending.removeSubrange(..<cut)
        return text
    }

    /// Whatever is left (an unfinished sequence becomes U+FFFD).
    public mutating func finish() -> String {
        defer { pending = [] }
        return String(decoding: pending, as: UTF8.self)
    }
}
