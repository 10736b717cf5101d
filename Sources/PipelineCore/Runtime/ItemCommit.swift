import Foundation
import Synchronization

/// Bytes a sink asks to add to the end of a shared file for one item, written only when the
/// item is committed.
///
/// A sink that appends to one file for every item (`sink.jsonl` with `append: true`) cannot
/// make its lines exactly-once on its own: after a crash, an item whose lines reached the file
/// but whose completion was not recorded runs again and writes them twice. When the run has
/// an item committer (`pipeline watch`: the ledger), such a sink stages its bytes on the item
/// instead (`NodeOutput.stageAppend`); the committer appends them, in item order of
/// completion, together with the item's `done` record, and records the file's committed
/// length, so a restart cuts off whatever was appended and not committed.
public struct StagedAppend: Sendable, Equatable {
    public let path: String
    public let bytes: [UInt8]

    public init(path: String, bytes: [UInt8]) {
        self.path = path
        self.bytes = bytes
    }
}

extension Item {
    /// Stages bytes for the end of `path`, written when the item is committed.
    func stageAppend(_ append: StagedAppend) {
        withNotes { $0.staged.append(append) }
    }
}

extension NodeOutput {
    /// Stages `bytes` for the end of the file at `path` on the item being processed: the
    /// run's item committer writes them with the item's completion record (see `StagedAppend`).
    /// Call only when `NodeContext.itemsAreCommitted()` says a committer exists.
    public func stageAppend(_ bytes: [UInt8], to path: String) {
        (currentItem ?? endingItem ?? openItem)?.stageAppend(StagedAppend(path: path, bytes: bytes))
    }
}
