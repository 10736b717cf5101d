/// A copy of the first `positions` positions of a `KVCache` (every layer's f16 keys and
/// transposed values): what a decoder session needs to continue a token prefix without
/// evaluating it again. Immutable, so one snapshot is restored by many sessions at once.
public struct KVSnapshot: Sendable {
    public let positions: Int
    /// Floats per position (KV heads × head size).
    let width: Int
    /// Per layer, `positions` rows of `width` keys.
    let keys: [[UInt16]]
    /// Per layer, `width` rows of `positions` values.
    let values: [[UInt16]]

    /// Bytes the snapshot holds.
    public var byteCount: Int { keys.count * 2 * positions * width * MemoryLayout<UInt16>.size }
}
