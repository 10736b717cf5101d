/// The input side of one node: a bounded queue (lane) per input port, each fed by
/// one upstream output, plus the join that pairs packets of the same item and sequence
/// across lanes. All copies of the node pop from the same inbox.
final class Inbox: @unchecked Sendable {
    /// One edge's queue.
    final class Lane: @unchecked Sendable {
        let capacity: Int
        let policy: QueuePolicy
        var queue = RingBuffer<Packet>()
        var openProducers: Int
        // Counters for the summary and the watchdog, read under the inbox lock.
        var pushed = 0
        var dropped = 0
        var highWater = 0

        init(capacity: Int, policy: QueuePolicy, producers: Int) {
            self.capacity = policy == .latest ? 1 : capacity
            self.policy = policy
            self.openProducers = producers
        }

        var isClosed: Bool { openProducers == 0 }
    }

    struct JoinKey: Hashable {
        let item: ObjectIdentifier
        let sequence: Int
    }

    /// A batch handed to one copy; `ordinal` orders batches for output reordering. A batch
    /// of `ends` (items a collector copy holds that are complete) has no inputs and no ordinal.
    struct Batch {
        let ordinal: Int
        var inputs: [NodeInput.Storage]
        var ends: [Item] = []
    }

    let monitor = Monitor()
    let lanes: [Lane]
    private var joins: [JoinKey: [Packet?]] = [:]
    private var joined = RingBuffer<[Packet]>()
    private var nextOrdinal = 0
    private var aborted = false
    private var waitingConsumers = 0
    private var waitingProducers = 0
    private let consumers: Int
    private let onDrop: @Sendable (Packet) -> Void
    /// Per copy: completed items it holds (an `ItemCollector`'s), not bounded by the lanes'
    /// capacity, since the thread that completes an item may be the copy itself.
    private var ends: [[Item]]
    /// Packets dropped under the lock, handed to `onDrop` once it is released (dropping one
    /// may complete an item, which may push an end into this very inbox).
    private var drops: [Packet] = []

    init(lanes: [Lane], consumers: Int, onDrop: @escaping @Sendable (Packet) -> Void) {
        self.lanes = lanes
        self.consumers = max(1, consumers)
        self.onDrop = onDrop
        self.ends = Array(repeating: [], count: max(1, consumers))
    }

    /// Tells copy `copy` that an item it holds is complete; it sees that before its next input.
    func pushEnd(_ item: Item, copy: Int) {
        monitor.withLock {
            ends[copy].append(item)
            monitor.signalData(all: true)
        }
    }

    // MARK: Producer side

    /// Appends packets to a lane, waiting for room under `block`, dropping under the other
    /// policies. Returns false when the run was aborted (the caller releases what is left).
    func push(_ packets: [Packet], lane index: Int) -> Bool {
        let lane = lanes[index]
        monitor.lock()
        var i = 0
        while i < packets.count {
            if aborted {
                unlockAndDeliverDrops()
                for p in packets[i...] { p.item.release() }
                return false
            }
            if lane.queue.count >= lane.capacity {
                switch lane.policy {
                case .block:
                    if waitingConsumers > 0 { monitor.signalData(all: true) }
                    waitingProducers += 1
                    monitor.waitForRoom()
                    waitingProducers -= 1
                    continue
                case .dropOldest, .latest:
                    if let old = lane.queue.popFirst() {
                        lane.dropped += 1
                        drops.append(old)
                    }
                }
            }
            lane.queue.append(packets[i])
            lane.pushed += 1
            if lane.queue.count > lane.highWater { lane.highWater = lane.queue.count }
            i += 1
        }
        if waitingConsumers > 0 { monitor.signalData(all: waitingConsumers > 1) }
        unlockAndDeliverDrops()
        return true
    }

    /// Releases the lock, then reports what was dropped while it was held.
    private func unlockAndDeliverDrops() {
        guard !drops.isEmpty else {
            monitor.unlock()
            return
        }
        let dropped = drops
        drops.removeAll()
        monitor.unlock()
        for p in dropped { onDrop(p) }
    }

    /// One producer copy of a lane is done; the lane closes when all are.
    func closeProducer(lane index: Int) {
        monitor.withLock {
            lanes[index].openProducers -= 1
            monitor.signalData(all: true)
        }
    }

    // MARK: Consumer side

    /// Waits for input and takes a batch of up to `limit` joined inputs, or the ends waiting
    /// for copy `copy`. Returns nil when every lane is closed and drained and no end waits,
    /// or the run was aborted.
    func pop(limit: Int, copy: Int = 0) -> Batch? {
        monitor.lock()
        let batch = waitForBatch(limit: limit, copy: copy)
        unlockAndDeliverDrops()
        return batch
    }

    /// `pop`'s work, under the lock.
    private func waitForBatch(limit: Int, copy: Int) -> Batch? {
        while true {
            if aborted { return nil }
            if !ends[copy].isEmpty {
                defer { ends[copy].removeAll() }
                return Batch(ordinal: -1, inputs: [], ends: ends[copy])
            }
            if lanes.count == 1 {
                let lane = lanes[0]
                if !lane.queue.isEmpty {
                    let take = share(of: lane.queue.count, limit: limit)
                    var inputs: [NodeInput.Storage] = []
                    inputs.reserveCapacity(take)
                    for _ in 0..<take { inputs.append(.one(lane.queue.popFirst()!)) }
                    return handOut(inputs)
                }
                if lane.isClosed { return nil }
            } else {
                moveLanesIntoJoins()
                if !joined.isEmpty {
                    let take = share(of: joined.count, limit: limit)
                    var inputs: [NodeInput.Storage] = []
                    for _ in 0..<take { inputs.append(.many(joined.popFirst()!)) }
                    return handOut(inputs)
                }
                if lanes.allSatisfy(\.isClosed) { return nil }
            }
            waitingConsumers += 1
            monitor.waitForData()
            waitingConsumers -= 1
        }
    }

    /// Packets that never found partners once all lanes closed (an upstream skipped or failed
    /// their item). Called once, by the last copy to finish.
    func takeUnjoined() -> [[Packet?]] {
        monitor.withLock {
            let rest = Array(joins.values)
            joins.removeAll()
            return rest
        }
    }

    /// Wakes every waiter and makes all further pushes and pops return at once.
    func abort() {
        monitor.withLock {
            aborted = true
            monitor.signalData(all: true)
            monitor.signalRoom()
        }
    }

    /// Current depth of each lane (for the watchdog and progress).
    func depths() -> [(depth: Int, capacity: Int, pushed: Int, dropped: Int, highWater: Int)] {
        monitor.withLock { lanes.map { ($0.queue.count, $0.capacity, $0.pushed, $0.dropped, $0.highWater) } }
    }

    /// Joined sets waiting for a partner (for the watchdog).
    var pendingJoins: Int { monitor.withLock { joins.count } }

    // MARK: Private

    /// Spreads available work over the copies so one copy does not take everything.
    private func share(of available: Int, limit: Int) -> Int {
        let fair = consumers > 1 ? (available + consumers - 1) / consumers : available
        return max(1, min(limit, fair))
    }

    private func handOut(_ inputs: [NodeInput.Storage]) -> Batch {
        if waitingProducers > 0 { monitor.signalRoom() }
        defer { nextOrdinal += 1 }
        return Batch(ordinal: nextOrdinal, inputs: inputs)
    }

    private func moveLanesIntoJoins() {
        // Fast path: branches that keep order deliver partners at the heads of their lanes;
        // pair those without touching the table.
        while lanes.allSatisfy({ !$0.queue.isEmpty }) {
            let head = lanes[0].queue.first!
            let key = JoinKey(item: ObjectIdentifier(head.item), sequence: head.sequence)
            guard lanes.dropFirst().allSatisfy({ $0.queue.first!.sequence == head.sequence && $0.queue.first!.item === head.item }),
                joins.isEmpty || joins[key] == nil
            else { break }
            joined.append(lanes.map { $0.queue.popFirst()! })
        }
        for (index, lane) in lanes.enumerated() {
            while let packet = lane.queue.popFirst() {
                let key = JoinKey(item: ObjectIdentifier(packet.item), sequence: packet.sequence)
                var slots = joins[key] ?? Array(repeating: nil, count: lanes.count)
                if slots[index] != nil {
                    // A second packet for the same slot: the join can only keep one; the older
                    // one is dropped and counted so the loss is visible.
                    lane.dropped += 1
                    drops.append(slots[index]!)
                }
                slots[index] = packet
                if slots.allSatisfy({ $0 != nil }) {
                    joins[key] = nil
                    joined.append(slots.map { $0! })
                } else {
                    joins[key] = slots
                }
            }
        }
    }
}
