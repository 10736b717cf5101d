/// The input side of one node: a bounded queue (lane) per input port, each fed by
/// one upstream output, plus the join that pairs packets of the same item and sequence
/// across lanes. All copies of the node pop from the same inbox.
///
/// Consumers never wait here: `tryPop` answers at once, and a push (or a lane closing, or an
/// item ending) calls `onData`, which queues the node's copies on the step pool. Producers
/// that run as pool steps ask for `room` before they take a batch and are woken (`roomWaiters`)
/// when a pop makes room; a push into a full `block` lane from inside a step waits (see
/// `StepPool.willBlockOnPush`), as does a source on its own thread.
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
        /// Producer copies that found the lane full and wait, parked, for a pop to make room.
        var roomWaiters: [CopyWorker] = []

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

    /// What `tryPop` found.
    enum PopResult {
        /// Inputs (or ends) to process.
        case batch(Batch)
        /// Nothing yet: the copy parks until `onData`.
        case empty
        /// Every lane is closed and drained and no end waits, or the run was aborted.
        case closed
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
    private var waitingProducers = 0
    private let consumers: Int
    private let onDrop: @Sendable (Packet) -> Void
    /// Per copy: completed items it holds (an `ItemCollector`'s), not bounded by the lanes'
    /// capacity, since the thread that completes an item may be the copy itself.
    private var ends: [[Item]]
    /// Packets dropped under the lock, handed to `onDrop` once it is released (dropping one
    /// may complete an item, which may push an end into this very inbox).
    private var drops: [Packet] = []
    /// Producers to wake once the lock is released (a pop made room on their lane).
    private var roomWakes: [CopyWorker] = []
    /// Queues this node's copies on the pool; set by the runner before the run starts.
    var onData: () -> Void = {}

    init(lanes: [Lane], consumers: Int, onDrop: @escaping @Sendable (Packet) -> Void) {
        self.lanes = lanes
        self.consumers = max(1, consumers)
        self.onDrop = onDrop
        self.ends = Array(repeating: [], count: max(1, consumers))
    }

    /// Tells copy `copy` that an item it holds is complete; it sees that before its next input.
    func pushEnd(_ item: Item, copy: Int) {
        monitor.withLock { ends[copy].append(item) }
        onData()
    }

    // MARK: Producer side

    /// Appends packets to a lane, waiting for room under `block`, dropping under the other
    /// policies. Takes ownership of every packet in `packets` (initialized memory the caller
    /// keeps): each is moved into the lane, or, when the run was aborted, released and
    /// destroyed (then it returns false). `pool` is the step pool when the caller is a pool
    /// thread: it is told before a wait, and when it says no thread is left to wait with, the
    /// packets go over capacity instead.
    func push(
        owned packets: UnsafeMutableBufferPointer<Packet>, lane index: Int, pool: Unmanaged<StepPool>? = nil,
        producer: CopyWorker? = nil, edge: Int = -1
    ) -> Bool {
        let lane = lanes[index]
        monitor.lock()
        var i = 0
        var overCapacity = false
        while i < packets.count {
            if aborted {
                unlockAndDeliverDrops()
                onData()
                for j in i..<packets.count { packets[j].item.release() }
                packets.baseAddress!.advanced(by: i).deinitialize(count: packets.count - i)
                return false
            }
            if lane.queue.count >= lane.capacity && !overCapacity {
                switch lane.policy {
                case .block:
                    // The consumer must know about what is queued before this producer waits.
                    monitor.unlock()
                    onData()
                    monitor.lock()
                    if aborted || lane.queue.count < lane.capacity { continue }
                    if let pool {
                        guard pool._withUnsafeGuaranteedRef({ $0.willBlockOnPush() }) else {
                            overCapacity = true
                            continue
                        }
                    }
                    waitingProducers += 1
                    if let producer {
                        producer.waitingForRoom(edge: edge) { monitor.waitForRoom() }
                    } else {
                        monitor.waitForRoom()
                    }
                    waitingProducers -= 1
                    pool?._withUnsafeGuaranteedRef { $0.didUnblockPush() }
                    continue
                case .dropOldest, .latest:
                    if let old = lane.queue.popFirst() {
                        lane.dropped += 1
                        drops.append(old)
                    }
                }
            }
            lane.queue.append(packets.moveElement(from: i))
            lane.pushed += 1
            if lane.queue.count > lane.highWater { lane.highWater = lane.queue.count }
            i += 1
        }
        unlockAndDeliverDrops()
        onData()
        return true
    }

    /// Room left on lane `index` for a producer about to take a batch: `Int.max` under the
    /// dropping policies, 0 when full, in which case `waiter` is woken by the pop that makes room.
    func room(lane index: Int, waiter: CopyWorker) -> Int {
        let lane = lanes[index]
        guard lane.policy == .block else { return Int.max }
        return monitor.withLock {
            if aborted { return Int.max }
            let room = lane.capacity - lane.queue.count
            if room <= 0 {
                if !lane.roomWaiters.contains(where: { $0 === waiter }) { lane.roomWaiters.append(waiter) }
                return 0
            }
            return room
        }
    }

    /// Releases the lock, then reports what was dropped while it was held and wakes the
    /// producers a pop made room for.
    private func unlockAndDeliverDrops() {
        guard !drops.isEmpty || !roomWakes.isEmpty else {
            monitor.unlock()
            return
        }
        let dropped = drops
        drops.removeAll()
        let wakes = roomWakes
        roomWakes.removeAll()
        monitor.unlock()
        for p in dropped { onDrop(p) }
        for w in wakes { w.wake() }
    }

    /// One producer copy of a lane is done; the lane closes when all are.
    func closeProducer(lane index: Int) {
        monitor.withLock { lanes[index].openProducers -= 1 }
        onData()
    }

    // MARK: Consumer side

    /// Takes a batch of up to `limit` joined inputs, or the ends waiting for copy `copy`,
    /// without waiting.
    func tryPop(limit: Int, copy: Int = 0) -> PopResult {
        monitor.lock()
        let result: PopResult
        if let batch = takeBatch(limit: limit, copy: copy) {
            result = .batch(batch)
        } else if aborted || (lanes.allSatisfy(\.isClosed) && lanes.allSatisfy(\.queue.isEmpty) && joined.isEmpty) {
            result = .closed
        } else {
            result = .empty
        }
        unlockAndDeliverDrops()
        return result
    }

    /// Whether a step of copy `copy` now has something to do: inputs or ends to pop, or every
    /// lane closed (time to finish), or the run aborted. Inputs that wait for a join partner do
    /// not count.
    func hasWork(copy: Int) -> Bool {
        monitor.withLock {
            aborted || lanes.allSatisfy(\.isClosed) || !ends[copy].isEmpty || !joined.isEmpty || (lanes.count == 1 && !lanes[0].queue.isEmpty)
                || (lanes.count > 1 && lanes.allSatisfy { !$0.queue.isEmpty })
        }
    }

    /// The ends waiting for `copy`, else a batch of what is queued, else nil; under the lock.
    private func takeBatch(limit: Int, copy: Int) -> Batch? {
        if aborted { return nil }
        if !ends[copy].isEmpty {
            defer { ends[copy].removeAll() }
            return Batch(ordinal: -1, inputs: [], ends: ends[copy])
        }
        if lanes.count == 1 {
            let lane = lanes[0]
            guard !lane.queue.isEmpty else { return nil }
            let take = share(of: lane.queue.count, limit: limit)
            var inputs: [NodeInput.Storage] = []
            inputs.reserveCapacity(take)
            for _ in 0..<take { inputs.append(.one(lane.queue.popFirst()!)) }
            return handOut(inputs)
        }
        moveLanesIntoJoins()
        guard !joined.isEmpty else { return nil }
        let take = share(of: joined.count, limit: limit)
        var inputs: [NodeInput.Storage] = []
        for _ in 0..<take { inputs.append(.many(joined.popFirst()!)) }
        return handOut(inputs)
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
        let waiters = monitor.withLock {
            aborted = true
            monitor.signalRoom()
            defer { for lane in lanes { lane.roomWaiters.removeAll() } }
            return lanes.flatMap(\.roomWaiters)
        }
        onData()
        for w in waiters { w.wake() }
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
        for lane in lanes where !lane.roomWaiters.isEmpty && lane.queue.count < lane.capacity {
            roomWakes.append(contentsOf: lane.roomWaiters)
            lane.roomWaiters.removeAll()
        }
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
