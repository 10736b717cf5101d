/// A node that gathers the packets of an item and acts once the item is complete: it has
/// seen every packet of the item that will ever reach it (lists of frames, per-file totals).
///
/// The scheduler knows when that is without markers in the stream: for each collector it
/// counts, per item, the packets queued at or being processed by the nodes that can reach
/// the collector (its upstream region). When an item's count drops to zero, no more of its
/// packets can arrive, and `itemEnded` is called on the copy that processed them, serially
/// with `process`, before the item is allowed to finish. Packets of the item on branches that
/// do not lead to the collector (a sibling it is later joined with) do not hold it back.
///
/// A collector runs as one copy (validation refuses `concurrency` above 1), so all packets
/// of an item meet in one place. Items it never saw a packet of are not reported to it.
public protocol ItemCollector: PipelineNode {
    /// Called once per item this node processed packets of, after the last of them.
    /// Emitted values belong to the item (sequence 0 unless given). `failed` is true when
    /// the item failed elsewhere in the graph: its packets no longer flow, so what was
    /// gathered should be dropped (the run reports the item's failure with its node and
    /// message). Throwing fails the item.
    func itemEnded(_ item: Item, failed: Bool, _ output: NodeOutput) throws
}
