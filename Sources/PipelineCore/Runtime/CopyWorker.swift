import Dispatch
import Synchronization

/// What one copy is doing, for the watchdog: a snapshot of its `CopyActivityBoard`.
struct CopyActivity: Sendable {
    enum State: Int, Sendable {
        case starting, waiting, processing, pushing, finished

        var name: String { "\(self)" }
    }
    var state: State = .starting
    /// Coarse monotonic nanoseconds when the state began.
    var since: UInt64 = MonotonicClock.coarse()
    /// The batch being processed and the input within it.
    var batch: [NodeInput.Storage] = []
    var index = -1
    /// The item a collector is ending, when it is not an input of the batch.
    var item: Item?
    /// The edge a pushing copy waits on.
    var edge: Int?

    /// The item of the input being processed, if any.
    var currentItem: Item? {
        guard state == .processing else { return nil }
        if batch.indices.contains(index) {
            switch batch[index] {
            case .none: return nil
            case .one(let p): return p.item
            case .many(let ps): return ps.first?.item
            }
        }
        return item
    }
}

/// Where a copy posts what it is doing. The per-call part (state, since, the input's index in
/// its batch) is two atomic stores, no lock, because it is written for every input;
/// what changes once per batch or per wait (the batch, a collector's item, the edge waited on)
/// sits behind a mutex. A snapshot may see a call's state a moment late; the watchdog judges
/// over seconds. `since` is stored before the state, so a reader that sees a new state sees
/// its time (or a later one).
final class CopyActivityBoard: Sendable {
    private let stateAndIndex = Atomic<Int>(0)  // state in the low 3 bits, index + 1 above
    private let sinceNanos = Atomic<UInt64>(MonotonicClock.coarse())
    private let shared = Mutex<(batch: [NodeInput.Storage], item: Item?, edge: Int?)>(([], nil, nil))

    @inline(__always) func post(_ state: CopyActivity.State, index: Int = -1, since: UInt64 = MonotonicClock.coarse()) {
        sinceNanos.store(since, ordering: .relaxed)
        stateAndIndex.store(state.rawValue | ((index + 1) << 3), ordering: .releasing)
    }

    var state: CopyActivity.State { CopyActivity.State(rawValue: stateAndIndex.load(ordering: .acquiring) & 7)! }
    var since: UInt64 { sinceNanos.load(ordering: .relaxed) }
    var index: Int { (stateAndIndex.load(ordering: .acquiring) >> 3) - 1 }

    /// The batch whose inputs `post(.processing, index:)` points into (empty between batches).
    func setBatch(_ batch: [NodeInput.Storage]) {
        shared.withLock { $0.batch = batch }
    }

    func setItem(_ item: Item?) {
        shared.withLock { $0.item = item }
    }

    func setEdge(_ edge: Int?) {
        shared.withLock { $0.edge = edge }
    }

    func snapshot() -> CopyActivity {
        shared.withLock { s in
            let packed = stateAndIndex.load(ordering: .acquiring)
            var a = CopyActivity()
            a.state = CopyActivity.State(rawValue: packed & 7)!
            a.index = (packed >> 3) - 1
            a.since = sinceNanos.load(ordering: .relaxed)
            a.batch = s.batch
            a.item = s.item
            a.edge = a.state == .pushing ? s.edge : nil
            return a
        }
    }
}

/// One copy of a node: pops batches from the inbox, calls `process`, routes emitted packets
/// into per-edge buffers that are flushed downstream in batches.
///
/// A copy of a node with inputs owns no thread: it runs in steps on the run's `StepPool`
/// (`wake` queues it, `step` handles one batch, see `CopyWorker+Steps.swift`). A source's
/// single `process` call lasts as long as its input does (a folder watch: the whole run), so
/// a source copy runs on a thread of its own (`start`).
final class CopyWorker: PacketRouter, ItemHolder, @unchecked Sendable {
    /// Packets buffered per edge before a flush; batching amortises locking and wake-ups.
    static let flushSize = 128

    // The runner and run outlive every worker (they own them), so no reference counting
    // or liveness checks are spent on them in the hot path.
    unowned(unsafe) let runner: NodeRunner
    unowned(unsafe) let run: PipelineRun
    /// The run and its pool, for the hot path (no reference counting per use, see `OutRoute`).
    private let runRef: Unmanaged<PipelineRun>
    private let pool: Unmanaged<StepPool>
    let copy: Int
    let instance: any PipelineNode
    private(set) var output: NodeOutput!
    /// Where one outgoing edge goes, for the hot path. Nothing in it is reference counted: the
    /// run owns the inboxes for as long as this copy runs (used through
    /// `_withUnsafeGuaranteedRef`), and this copy frees the buffers when it goes. A counted
    /// reference (even an unowned(unsafe) one, which the compiler retains around each use)
    /// costs an atomic increment and decrement of an object other threads touch too, per packet.
    private struct OutRoute {
        let buffer: EdgeBuffer
        let inbox: Unmanaged<Inbox>
        let lane: Int
        /// The graph's index of the edge.
        let edge: Int
        /// Flush at this many packets (the batch size, or less when the edge's queue is
        /// smaller, so a small queue also bounds what a producer holds).
        let flushAt: Int
    }
    private var routes: [OutRoute] = []
    /// Whether the node reorders its copies' output (`NodeRunner.sequencer`).
    private var sequenced = false
    /// The runner's input port names and collector regions (copies: read per input).
    private let inputNames: [String]
    private let regions: [Int]
    /// Output port -> indices into `routes` (a copy of the runner's table).
    private var portEdges: [[Int]] = []
    /// Per output port: its one edge, or -1 (none, or several).
    private var singleEdge: [Int] = []
    /// Per outgoing edge: the collector regions of its target (packets sent there count in them).
    private var edgeRegions: [[Int]] = []
    private var anyEdgeRegions = false
    /// The node as an `ItemCollector`, and the items this copy holds for it, oldest first.
    private let collector: (any ItemCollector)?
    private var held: [ObjectIdentifier: Item] = [:]
    private var heldOrder: [Item] = []
    var ordinal: Int?
    let tracing: Bool
    let isSource: Bool
    /// Where this copy stands with the pool (`Schedule`); see `wake`.
    let schedule = Atomic<Int>(Schedule.idle)
    let activity = CopyActivityBoard()

    // Per-copy counters, read after the run (no sharing while it runs).
    var packetsIn = 0
    var packetsOut = 0
    var calls = 0
    /// Time inside `process`/`finish`, not counting waits for room downstream.
    var busyNanos: UInt64 = 0
    var pushNanos: UInt64 = 0
    var spans: [TraceSpan] = []

    init(runner: NodeRunner, copy: Int, instance: any PipelineNode) {
        self.runner = runner
        self.run = runner.run
        self.runRef = .passUnretained(runner.run)
        self.pool = .passUnretained(runner.run.pool)
        self.inputNames = runner.inputNames
        self.regions = runner.regions  // set by the run before it makes the copies
        self.copy = copy
        self.instance = instance
        self.tracing = runner.run.tracing
        self.isSource = runner.inbox == nil
        self.collector = runner.collectorRegion == nil ? nil : instance as? any ItemCollector
        self.output = NodeOutput(ports: runner.node.type.outputs, router: self)
    }

    deinit {
        for route in routes { route.buffer.free() }
    }

    var isStopping: Bool { run.isStopping }

    func makeItem(id: String) -> Item { run.makeItem(id: id) }

    func fail(_ item: Item, message: String) { run.itemFailed(item, node: runner.node.id, message: message) }

    func hold(_ item: Item) {
        item.retain()
        for r in runner.regions { item.enterRegion(r) }
    }

    func unhold(_ item: Item) {
        for r in runner.regions { item.leaveRegion(r) }
        item.release()
    }

    /// An item this copy holds as a collector is complete: handled at its next pop.
    func itemCompleted(_ item: Item) {
        runner.inbox?.pushEnd(item, copy: copy)
    }

    func route(port: Int, packet: consuming Packet) {
        packetsOut += 1
        var full = false
        let single = singleEdge[port]
        if single >= 0 && !anyEdgeRegions {
            // One edge from this port (the common case): no table walk, and the packet moves
            // into the buffer (no copy).
            packet.item.retain(1)
            let route = routes[single]
            route.buffer.append(consume packet)
            full = route.buffer.count >= route.flushAt
        } else {
            let count = portEdges[port].count
            guard count > 0 else { return }
            packet.item.retain(count)
            for i in 0..<count {
                let t = portEdges[port][i]
                if anyEdgeRegions {
                    for r in edgeRegions[t] { packet.item.enterRegion(r) }
                }
                let route = routes[t]
                route.buffer.append(copy packet)
                full = full || route.buffer.count >= route.flushAt
            }
        }
        // A source hands every packet over at once. Holding them back for a batch only pays
        // when more follow at once, and a held packet could only leave at the source's next
        // emit (there is no timer): a source that emits slowly or in bursts (a camera, the
        // latency benchmark) made its packets wait for that, which was the latency tail.
        // Batches still form where they pay: a step pops up to 128 queued inputs at once, and
        // copies with inputs flush at the end of their step.
        if full || isSource { flush() }
    }

    func flush() {
        if sequenced, let sequencer = runner.sequencer, let ordinal {
            var chunk: Sequencer.Chunk = []
            for e in routes.indices where !routes[e].buffer.isEmpty {
                chunk.append((e, routes[e].buffer.takeArray()))
            }
            if !chunk.isEmpty { sequencer.submit(ordinal, chunk) }
            return
        }
        // No clock and no activity update per flush (a source flushes every packet): the
        // push reports a wait for room, the only slow case, through `waitingForRoom`.
        let pool = isSource ? nil : self.pool
        var pushes = 0
        for route in routes where !route.buffer.isEmpty {
            route.buffer.drain { owned in
                _ = route.inbox._withUnsafeGuaranteedRef {
                    $0.push(owned: owned, lane: route.lane, pool: pool, producer: self, edge: route.edge)
                }
            }
            pushes += 1
        }
        if pushes > 0 { runRef._withUnsafeGuaranteedRef { $0.progress.add(pushes, ordering: .relaxed) } }
    }

    /// Called by `Inbox.push` around a wait for room on a full edge (`edge`: the graph's edge
    /// index): the watchdog sees the copy as pushing meanwhile, the wait is left out of
    /// `busyNanos`, and the activity the wait interrupted is restored after it.
    func waitingForRoom<T>(edge: Int, _ wait: () -> T) -> T {
        let start = MonotonicClock.now()
        let before = (state: activity.state, index: activity.index, since: activity.since)
        activity.setEdge(edge)
        activity.post(.pushing)
        let result = wait()
        if activity.state == .pushing { activity.post(before.state, index: before.index, since: before.since) }
        pushNanos += MonotonicClock.now() - start
        return result
    }

    /// Sets up the routing tables; called once for every copy before the run starts.
    func prepare() {
        portEdges = runner.portEdges
        singleEdge = portEdges.map { $0.count == 1 ? $0[0] : -1 }
        for route in routes { route.buffer.free() }
        routes = runner.outEdges.map { out in
            let inbox = out.target.inbox!
            let flushAt = min(Self.flushSize, inbox.lanes[out.lane].capacity)
            return OutRoute(
                buffer: EdgeBuffer(capacity: flushAt), inbox: .passUnretained(inbox), lane: out.lane,
                edge: out.edgeIndex, flushAt: flushAt)
        }
        sequenced = runner.sequencer != nil
        edgeRegions = runner.outEdges.map(\.target.regions)
        anyEdgeRegions = edgeRegions.contains { !$0.isEmpty }
    }

    /// A source copy's whole life, on its own thread: its one `process` call, then `finish`.
    func start() {
        timed {
            invoke(NodeInput(storage: .none, portNames: []), first: nil, at: 0)
            output.closeOpenItem()
        }
        finishCopy()
    }

    /// Handles one batch of inputs (or of ended items) popped from the inbox.
    func process(_ batch: Inbox.Batch) {
        if !batch.ends.isEmpty {
            timed {
                for item in batch.ends { end(item) }
                flush()
            }
            return
        }
        run.progress.add(1, ordering: .relaxed)
        ordinal = batch.ordinal
        let inputs = batch.inputs
        activity.setBatch(inputs)
        timed {
            // By index: the element is borrowed, not copied (no retain per input).
            for index in inputs.indices { handle(inputs[index], at: index) }
            run.pool.closingFlush { flush() }
        }
        // Between steps the copy waits: it is not in `process` any more (the watchdog must
        // not name it as the holder of a stalled graph).
        activity.post(.waiting)
        activity.setBatch([])
        runner.sequencer?.complete(batch.ordinal)
        ordinal = nil
    }

    /// After the last input: ends what the copy still holds, calls `finish`, closes its lanes.
    func finishCopy() {
        ordinal = nil
        output.setCurrent(nil)
        // Every lane is closed: nothing more can reach this copy, so what it holds is complete.
        if !run.isAborted && !heldOrder.isEmpty {
            timed {
                for item in heldOrder { end(item) }
                flush()
            }
        }
        timed {
            setActivity(.processing)
            do {
                try instance.finish(output)
            } catch {
                run.nodeFailed(node: runner.node.id, message: "finish: \(error)")
            }
            output.closeOpenItem()
            flush()
        }
        setActivity(.finished)
        runner.copyFinished()
        run.copyEnded()
    }

    /// Adds the time `body` takes, less its waits for room downstream, to `busyNanos`.
    @inline(__always) func timed(_ body: () -> Void) {
        pushNanos = 0
        let start = MonotonicClock.now()
        body()
        busyNanos += (MonotonicClock.now() - start) &- pushNanos
    }

    @inline(__always) private func handle(_ storage: NodeInput.Storage, at index: Int) {
        switch storage {
        case .none:
            return
        case .one(let packet):
            packetsIn += 1
            if !packet.item.isFailed {
                invoke(NodeInput(storage: storage, portNames: inputNames), first: packet, at: index)
            }
            NodeRunner.release(packet, regions: regions)
        case .many(let packets):
            packetsIn += packets.count
            if !packets[0].item.isFailed {
                invoke(NodeInput(storage: storage, portNames: inputNames), first: packets[0], at: index)
            }
            for p in packets { NodeRunner.release(p, regions: regions) }
        }
    }

    /// As a collector, keeps `item` open until `end`: it cannot finish, and collectors
    /// downstream wait for what this one emits at its end.
    private func holdForCollector(_ item: Item) {
        guard let region = runner.collectorRegion, held[ObjectIdentifier(item)] == nil else { return }
        item.retain()
        for r in runner.holdRegions { item.enterRegion(r) }
        held[ObjectIdentifier(item)] = item
        heldOrder.append(item)
        item.addHolder(region: region, self)
    }

    /// Calls the collector's `itemEnded` for a held item, then lets the item go.
    private func end(_ item: Item) {
        guard let collector, held.removeValue(forKey: ObjectIdentifier(item)) != nil else { return }
        heldOrder.removeAll { $0 === item }
        output.endingItem = item
        activity.setBatch([])
        activity.setItem(item)
        activity.post(.processing)
        let start = tracing ? MonotonicClock.now() : 0
        do {
            try collector.itemEnded(item, failed: item.isFailed, output)
        } catch {
            run.itemFailed(item, node: runner.node.id, message: "\(error)")
            if runner.node.onError == .fail {
                run.abort(reason: "node '\(runner.node.id)' failed and has on_error: fail")
            }
        }
        calls += 1
        if tracing {
            spans.append(TraceSpan(start: start, duration: MonotonicClock.now() - start, item: item.id))
        }
        output.endingItem = nil
        activity.setItem(nil)
        // Whatever it emitted must be counted downstream before the hold goes.
        flush()
        for r in runner.holdRegions { item.leaveRegion(r) }
        item.release()
    }

    /// One `process` call. The input's item is read from `output.currentItem` where needed
    /// (the batch keeps it alive), not held in a local: that would retain and release it per call.
    private func invoke(_ input: NodeInput, first: borrowing Packet?, at index: Int) {
        // One local for the call: each read of the stored (var) output retained and released it.
        let output = self.output!
        let hasItem = first != nil
        output.setCurrent(first)
        activity.post(.processing, index: index)
        let start = tracing ? MonotonicClock.now() : 0
        if collector != nil, let item = output.currentItem { holdForCollector(item) }
        do {
            try instance.process(input, output)
        } catch is RunStopping {
            // A source was told to stop starting items; what it emitted drains.
        } catch {
            failed(error)
        }
        calls += 1
        if tracing {
            spans.append(TraceSpan(start: start, duration: MonotonicClock.now() - start, item: output.currentItem?.id))
        }
        if hasItem { output.closeOpenItem() }
        output.setCurrent(nil)
    }

    /// A `process` call threw: fails its item (or the item the source has open, or the node).
    private func failed(_ error: any Error) {
        if let item = output.currentItem {
            run.itemFailed(item, node: runner.node.id, message: "\(error)")
        } else if let open = output.openItem {
            run.itemFailed(open, node: runner.node.id, message: "\(error)")
        } else {
            run.nodeFailed(node: runner.node.id, message: "\(error)")
        }
        if runner.node.onError == .fail {
            run.abort(reason: "node '\(runner.node.id)' failed and has on_error: fail")
        }
    }

    @inline(__always) func setActivity(_ state: CopyActivity.State, edge: Int? = nil) {
        if let edge { activity.setEdge(edge) }
        activity.post(state)
    }
}

/// One `process` call, for the trace.
struct TraceSpan: Sendable {
    let start: UInt64
    let duration: UInt64
    let item: String?
}
