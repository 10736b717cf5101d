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
    /// The run. Unowned and unretained: the run outlives its items' tracking (it calls
    /// `finished` only while it runs), and a counted reference would cost an atomic increment
    /// where the item is made and a decrement where it is freed (other threads), per item.
    unowned(unsafe) let tracker: (any ItemTracker)?
    /// What most items never get (a failure, published files, staged appends, collector
    /// holders), made on first use: an item without them is made and freed without them.
    private let notes = Mutex<ItemNotes?>(nil)
    /// Per item collector of the run (see `ItemCollector`): how many of this item's packets
    /// are queued at, or being processed by, a node that can reach that collector.
    let regions: [RegionCount]

    init(id: String, tracker: (any ItemTracker)?, regions: Int = 0) {
        self.id = id
        self.tracker = tracker
        self.regions = regions == 0 ? [] : (0..<regions).map { _ in RegionCount() }
    }

    /// Changes the item's notes under their lock, making them on first use.
    func withNotes<T>(_ body: (inout ItemNotes) -> T) -> T {
        notes.withLock { notes in
            if notes == nil { notes = ItemNotes() }
            return body(&notes!)
        }
    }

    /// A copy of the item's notes (empty ones if it has none; none are made).
    var currentNotes: ItemNotes { notes.withLock { $0 ?? ItemNotes() } }

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

    /// One more packet (or hold) of this item inside region `r`.
    func enterRegion(_ r: Int) {
        regions[r].count.add(1, ordering: .relaxed)
    }

    /// One packet (or hold) fewer inside region `r`; when none is left, no packet of this item
    /// can reach the region's collector any more, so the copies holding it are told.
    func leaveRegion(_ r: Int) {
        let (_, now) = regions[r].count.subtract(1, ordering: .acquiringAndReleasing)
        guard now == 0 else { return }
        let told = currentNotes.holders.filter { $0.region == r }.map(\.holder)
        for holder in told { holder.itemCompleted(self) }
    }

    /// Registers a collector copy that holds this item, to be told when region `r` empties.
    func addHolder(region r: Int, _ holder: any ItemHolder) {
        withNotes { $0.holders.append((r, holder)) }
    }

    /// Marks the item failed; returns true for the first failure, whose message is kept.
    @discardableResult
    func markFailed(_ message: String) -> Bool {
        let first = !failedFlag.exchange(true, ordering: .acquiringAndReleasing)
        if first { withNotes { $0.failure = message } }
        return first
    }

    /// Notes a file a sink published for this item.
    func published(_ path: String) {
        withNotes { $0.published.append(path) }
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
    /// Bytes sinks staged for shared files, for the run's item committer to write.
    public var appends: [StagedAppend] = []
}

/// What an item may gather besides its packets' count (see `Item.withNotes`).
struct ItemNotes {
    /// The first failure's message.
    var failure: String?
    /// Files the sinks published for the item.
    var published: [String] = []
    /// Bytes sinks staged for shared files, written when the item is committed (`StagedAppend`).
    var staged: [StagedAppend] = []
    /// The collector copies holding the item, by region, told when their region empties.
    var holders: [(region: Int, holder: any ItemHolder)] = []
}

/// A counter of one region of one item.
final class RegionCount: Sendable {
    let count = Atomic<Int>(0)
}

/// A collector copy holding an item open until every packet that could reach it is through.
protocol ItemHolder: AnyObject, Sendable {
    /// No packet of `item` can reach the holder any more (any thread).
    func itemCompleted(_ item: Item)
}

/// Receives item completions from a run.
protocol ItemTracker: AnyObject, Sendable {
    func finished(_ item: Item)
}
