import Synchronization

/// One unit of data moving along an edge.
///
/// `item` is the source file (or other unit of work) the packet belongs to; `sequence`
/// orders packets within an item (frame number, window index); `timestamp` is the media
/// time in seconds when the packet has one.
public struct Packet: Sendable {
    public var value: Value
    public var item: Item
    public var sequence: Int
    public var timestamp: Double?

    public init(value: Value, item: Item, sequence: Int = 0, timestamp: Double? = nil) {
        self.value = value
        self.item = item
        self.sequence = sequence
        self.timestamp = timestamp
    }
}

/// A unit of work (usually one source file) tracked from its first packet to its last.
///
/// The run counts the packets of an item that are still queued or being processed;
/// when the count reaches zero the item is finished, ok or failed. The counter is atomic
/// so tracking costs no lock on the hot path.
public final class Item: Sendable, Hashable, CustomStringConvertible {
    /// Stable identity, usually the source path.
    public let id: String
    let pending = Atomic<Int>(0)
    let failedFlag = Atomic<Bool>(false)
    let tracker: (any ItemTracker)?
    /// The first failure's message and the files sinks published for this item.
    let record = Mutex<(failure: String?, published: [String])>((nil, []))

    init(id: String, tracker: (any ItemTracker)?) {
        self.id = id
        self.tracker = tracker
    }

    /// An item outside any run (node harness, tests).
    public convenience init(id: String) {
        self.init(id: id, tracker: nil)
    }

    public var isFailed: Bool { failedFlag.load(ordering: .acquiring) }

    func retain(_ n: Int = 1) {
        pending.add(n, ordering: .relaxed)
    }

    func release(_ n: Int = 1) {
        let (_, now) = pending.subtract(n, ordering: .acquiringAndReleasing)
        if now == 0 { tracker?.finished(self) }
    }

    /// Marks the item failed; returns true for the first failure, whose message is kept.
    @discardableResult
    func markFailed(_ message: String) -> Bool {
        let first = !failedFlag.exchange(true, ordering: .acquiringAndReleasing)
        if first { record.withLock { $0.failure = message } }
        return first
    }

    /// Notes a file a sink published for this item.
    func published(_ path: String) {
        record.withLock { $0.published.append(path) }
    }

    public var description: String { id }
    public static func == (lhs: Item, rhs: Item) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}

/// How an item ended, for observers such as the watch ledger.
public struct ItemOutcome: Sendable {
    public let id: String
    public let failed: Bool
    /// The first failure, as "node 'x': message".
    public let failure: String?
    /// Files the sinks published for the item (via `NodeOutput.published`).
    public let outputs: [String]
}

/// Receives item completions from a run.
protocol ItemTracker: AnyObject, Sendable {
    func finished(_ item: Item)
}
