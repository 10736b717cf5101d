/// The ids of several texts padded to a common length, with the attention mask: what a BERT
/// model takes as `input_ids` and `attention_mask`.
public struct TokenBatch: Sendable, Equatable {
    /// Row-major `[count, sequenceLength]`, padded with the pad id.
    public let ids: [Int32]
    /// 1 for a real token, 0 for padding; same layout as `ids`.
    public let attentionMask: [Int32]
    /// Real tokens per text, specials included.
    public let lengths: [Int]
    public let sequenceLength: Int

    public var count: Int { lengths.count }

    /// Pads `sequences` to the longest of them.
    public init(_ sequences: [[Int32]], padID: Int32) {
        let length = sequences.map(\.count).max() ?? 0
        var ids = [Int32](repeating: padID, count: sequences.count * length)
        var mask = [Int32](repeating: 0, count: sequences.count * length)
        for (row, sequence) in sequences.enumerated() {
            for (column, id) in sequence.enumerated() {
                ids[row * length + column] = id
                mask[row * length + column] = 1
            }
        }
        self.ids = ids
        self.attentionMask = mask
        self.lengths = sequences.map(\.count)
        self.sequenceLength = length
    }

    /// The real (unpadded) ids of text `row`.
    public func sequence(_ row: Int) -> ArraySlice<Int32> {
        ids[row * sequenceLength..<row * sequenceLength + lengths[row]]
    }
}
