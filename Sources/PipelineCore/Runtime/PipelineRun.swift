import Dispatch
import Foundation
import Synchronization

/// Options for one run that are not part of the pipeline file.
public struct RunOptions: Sendable {
    /// Record a span per node invocation for `--trace`.
    public var trace = false
    /// Most inputs a copy takes from its inbox at once.
    public var batchLimit = 128
    /// Overrides the file's watchdog timeout when set (seconds; 0 disables).
    public var watchdogSeconds: Double?
    /// Threads that run node copies at once (the step pool's size); nil: `defaultThreads`.
    /// Sources run on a thread each, outside this count.
    public var threads: Int?

    /// PIPELINE_THREADS when set to a positive number, else the CPUs this process may use.
    public static var defaultThreads: Int {
        if let text = ProcessInfo.processInfo.environment["PIPELINE_THREADS"], let n = Int(text), n > 0 { return n }
        return ProcessInfo.processInfo.activeProcessorCount
    }

    public init(trace: Bool = false, batchLimit: Int = 128, watchdogSeconds: Double? = nil, threads: Int? = nil) {
        self.trace = trace
        self.batchLimit = batchLimit
        self.watchdogSeconds = watchdogSeconds
        self.threads = threads
    }
}

/// Streams packets through a validated graph.
///
/// Copies of nodes with inputs run in steps on a bounded pool of threads (`StepPool`): a copy
/// is queued when it has input and room downstream, handles one batch, and gives the thread
/// back, so thousands of nodes run on about as many threads as there are cores. Each source
/// copy runs as one long work item on a Dispatch queue of its own. Edges are bounded queues,
/// so a fast producer waits for a slow consumer (under the `block` policy) and memory stays
/// bounded. `stop()` drains: sources stop starting items and what is in flight
/// finishes; a second `stop()` (or `abort`) ends the run at once.
public final class PipelineRun: ItemTracker, @unchecked Sendable {
    public let graph: PipelineGraph
    let pipelineDirectory: String
    let tracing: Bool
    let batchLimit: Int
    private let observer: @Sendable (RunEvent) -> Void
    private var runners: [NodeRunner] = []
    private let group = DispatchGroup()
    /// Runs the steps of every copy of a node with inputs.
    let pool: StepPool
    private let startTime = MonotonicClock.now()
    private var endTime: UInt64 = 0
    let progress = Atomic<Int>(0)
    private let stopping = Atomic<Int>(0)  // 0 running, 1 draining, 2 aborted
    private let watchdogSeconds: Double
    private var watchdog: Watchdog?

    private let lock = Mutex(Counters())
    private let itemObservers = Mutex<[@Sendable (ItemOutcome) -> Void]>([])
    // Item counts are atomics: they change once or twice per item, on the hot path.
    private let itemsStarted = Atomic<Int>(0)
    private let itemsOK = Atomic<Int>(0)
    private let itemsFailed = Atomic<Int>(0)
    private let itemObserverCount = Atomic<Int>(0)
    /// Writes staged appends with each item's completion record (`StagedAppend`), when set.
    private let itemCommitter = Mutex<(@Sendable (ItemOutcome) -> Void)?>(nil)
    /// How many item collectors (regions) the graph has; every item counts packets per region.
    private var regionCount = 0

    struct Counters {
        var dropped = 0
        var warnings = 0
        var failures: [RunSummary.Failure] = []
        var abortReason: String?
        var stalls = 0
    }

    /// Builds every node copy; throws `RunSetupError` if a node cannot start.
    public init(
        graph: PipelineGraph, options: RunOptions = RunOptions(),
        observer: @escaping @Sendable (RunEvent) -> Void = { _ in }
    ) throws {
        self.graph = graph
        self.observer = observer
        self.tracing = options.trace
        self.batchLimit = max(1, options.batchLimit)
        self.watchdogSeconds = options.watchdogSeconds ?? graph.settings.watchdogSeconds
        self.pipelineDirectory = (graph.file as NSString).deletingLastPathComponent
        self.pool = StepPool(threads: options.threads ?? RunOptions.defaultThreads)
        runners = graph.nodes.enumerated().map { index, node in
            NodeRunner(index: index, node: node, run: self, graph: graph)
        }
        for (edgeIndex, edge) in graph.edges.enumerated() {
            let producer = runners[edge.fromNode]
            if producer.portEdges.isEmpty {
                producer.portEdges = Array(repeating: [], count: producer.node.type.outputs.count)
            }
            producer.portEdges[edge.fromPort].append(producer.outEdges.count)
            producer.outEdges.append(
                NodeRunner.OutEdge(edgeIndex: edgeIndex, target: runners[edge.toNode], lane: edge.toPort))
        }
        for runner in runners where runner.portEdges.isEmpty {
            runner.portEdges = Array(repeating: [], count: runner.node.type.outputs.count)
        }
        for node in graph.nodes {
            guard let publisher = node.type as? any FilePublisher.Type else { continue }
            for dir in publisher.temporaryDirectories(node.options) { AtomicFile.removeStaleTemporaries(in: dir) }
        }
        assignRegions()
        for runner in runners { try runner.makeCopies() }
    }

    /// Gives each `ItemCollector` a region: itself and every node that can reach it.
    private func assignRegions() {
        var upstream = Array(repeating: [Int](), count: runners.count)
        for edge in graph.edges { upstream[edge.toNode].append(edge.fromNode) }
        for runner in runners where runner.node.type is any ItemCollector.Type && runner.inbox != nil {
            let region = regionCount
            regionCount += 1
            runner.collectorRegion = region
            var seen: Set<Int> = [runner.index]
            var stack = [runner.index]
            while let n = stack.popLast() {
                runners[n].regions.append(region)
                for m in upstream[n] where seen.insert(m).inserted { stack.append(m) }
            }
        }
        for runner in runners where runner.collectorRegion != nil {
            runner.holdRegions = runner.regions.filter { $0 != runner.collectorRegion }
        }
    }

    /// Starts every copy; returns at once.
    public func start() {
        for runner in runners {
            for worker in runner.copies {
                worker.prepare()
                group.enter()
            }
        }
        for runner in runners {
            for worker in runner.copies {
                if worker.isSource {
                    DispatchQueue(label: "pipeline.\(runner.node.id).\(worker.copy)").async { worker.start() }
                } else {
                    worker.wake()
                }
            }
        }
        if watchdogSeconds > 0 {
            watchdog = Watchdog(run: self, seconds: watchdogSeconds, action: graph.settings.watchdogAction)
            watchdog?.start()
        }
    }

    /// Waits for the run to end and returns its summary.
    public func wait() -> RunSummary {
        group.wait()
        pool.close()
        watchdog?.cancel()
        endTime = MonotonicClock.now()
        return summary()
    }

    /// Starts and waits.
    public func run() -> RunSummary {
        start()
        return wait()
    }

    /// First call drains (no new items; in-flight work finishes); second call aborts.
    public func stop() {
        if stopping.compareExchange(expected: 0, desired: 1, ordering: .acquiringAndReleasing).exchanged { return }
        abort(reason: "interrupted twice: in-flight work abandoned")
    }

    /// Ends the run now: every queue wakes and every copy exits after its current call.
    public func abort(reason: String) {
        let previous = stopping.exchange(2, ordering: .acquiringAndReleasing)
        guard previous != 2 else { return }
        lock.withLock { $0.abortReason = $0.abortReason ?? reason }
        for runner in runners { runner.inbox?.abort() }
        // Copies parked for a reordering permit learn of the abort at their next step.
        for runner in runners where runner.sequencer != nil {
            for worker in runner.copies { worker.wake() }
        }
    }

    /// A copy has called `finish` and closed its lanes.
    func copyEnded() {
        group.leave()
    }

    public var isStopping: Bool { stopping.load(ordering: .relaxed) != 0 }
    var isAborted: Bool { stopping.load(ordering: .relaxed) == 2 }

    // MARK: Items and reports (called from workers)

    func makeItem(id: String) -> Item {
        itemsStarted.add(1, ordering: .relaxed)
        observer(.itemStarted(id))
        return Item(id: id, tracker: self, regions: regionCount)
    }

    func finished(_ item: Item) {
        let failed = item.isFailed
        if failed { itemsFailed.add(1, ordering: .relaxed) } else { itemsOK.add(1, ordering: .relaxed) }
        observer(.itemFinished(item.id, failed: failed))
        if itemObserverCount.load(ordering: .acquiring) > 0 {
            let observers = itemObservers.withLock { $0 }
            let notes = item.currentNotes
            let outcome = ItemOutcome(
                id: item.id, failed: failed, failure: notes.failure, outputs: notes.published,
                appends: notes.staged)
            if let commit = itemCommitter.withLock({ $0 }) { commit(outcome) }
            for observe in observers { observe(outcome) }
        }
    }

    /// Makes `committer` the run's item committer: it receives every item's outcome, staged
    /// appends included, before the observers, and must write the appends (see `StagedAppend`).
    /// One per run; registering also counts as observing items.
    public func commitItems(_ committer: @escaping @Sendable (ItemOutcome) -> Void) {
        itemCommitter.withLock { $0 = committer }
        itemObserverCount.add(1, ordering: .releasing)
    }

    /// Whether an item committer is registered.
    public var itemsAreCommitted: Bool { itemCommitter.withLock { $0 != nil } }

    /// Adds a callback for item outcomes (nodes register through `NodeContext.observeItems`).
    public func observeItems(_ observer: @escaping @Sendable (ItemOutcome) -> Void) {
        itemObservers.withLock { $0.append(observer) }
        itemObserverCount.add(1, ordering: .releasing)
    }

    func itemFailed(_ item: Item, node: String, message: String) {
        guard item.markFailed("node '\(node)': \(message)") else { return }
        record(RunSummary.Failure(node: node, item: item.id, message: message))
        observer(.failure(node: node, item: item.id, message: message))
    }

    func nodeFailed(node: String, message: String) {
        record(RunSummary.Failure(node: node, item: nil, message: message))
        observer(.failure(node: node, item: nil, message: message))
    }

    private func record(_ failure: RunSummary.Failure) {
        lock.withLock { counters in
            if counters.failures.count < 10_000 { counters.failures.append(failure) }
        }
    }

    func warning(node: String, message: String) {
        lock.withLock { $0.warnings += 1 }
        observer(.warning(node: node, message: message))
    }

    /// A packet queued at node `node` was dropped (queue policy, or a second packet for a join slot).
    func packetDropped(_ packet: Packet, at node: Int) {
        lock.withLock { $0.dropped += 1 }
        NodeRunner.release(packet, regions: runners[node].regions)
    }

    func stalled(_ report: String) {
        lock.withLock { $0.stalls += 1 }
        observer(.stall(report))
    }

    // MARK: Introspection

    /// A point-in-time view for progress displays and the watchdog.
    public func snapshot() -> RunSnapshot {
        let now = MonotonicClock.now()
        let coarseNow = MonotonicClock.coarse()
        var edges: [RunSnapshot.EdgeState] = []
        for runner in runners {
            guard let inbox = runner.inbox else { continue }
            for (lane, depth) in inbox.depths().enumerated() {
                let from = graph.nodes[runner.node.inputs[lane].node]
                edges.append(
                    RunSnapshot.EdgeState(
                        name: "\(from.id).\(from.type.outputs[runner.node.inputs[lane].port].name) -> "
                            + "\(runner.node.id).\(runner.inputNames[lane])",
                        depth: depth.depth, capacity: depth.capacity))
            }
        }
        let copies = runners.flatMap { runner in
            runner.copies.map { worker in
                let a = worker.activity.snapshot()
                return RunSnapshot.CopyState(
                    node: runner.node.id, copy: worker.copy, state: a.state.name,
                    seconds: Double(coarseNow - min(coarseNow, a.since)) / 1e9, item: a.currentItem?.id,
                    edge: a.edge.map { graph.describe(graph.edges[$0]) })
            }
        }
        return RunSnapshot(
            elapsed: Double(now - startTime) / 1e9, itemsStarted: itemsStarted.load(ordering: .relaxed),
            itemsOK: itemsOK.load(ordering: .relaxed), itemsFailed: itemsFailed.load(ordering: .relaxed), edges: edges,
            copies: copies)
    }

    private func summary() -> RunSummary {
        let counters = lock.withLock { $0 }
        let seconds = Double(endTime - startTime) / 1e9
        let edges = graph.edges
        var edgeSummaries: [RunSummary.EdgeSummary] = []
        for (i, edge) in edges.enumerated() {
            let d = runners[edge.toNode].inbox!.depths()[edge.toPort]
            edgeSummaries.append(
                RunSummary.EdgeSummary(
                    edge: graph.describe(edges[i]), capacity: d.capacity, pushed: d.pushed, dropped: d.dropped,
                    highWater: d.highWater, policy: runners[edge.toNode].node.queuePolicy.rawValue))
        }
        let nodes = runners.map { runner in
            RunSummary.NodeSummary(
                id: runner.node.id, type: runner.node.type.type, copies: runner.copies.count,
                packetsIn: runner.copies.reduce(0) { $0 + $1.packetsIn },
                packetsOut: runner.copies.reduce(0) { $0 + $1.packetsOut },
                calls: runner.copies.reduce(0) { $0 + $1.calls },
                busySeconds: Double(runner.copies.reduce(UInt64(0)) { $0 + $1.busyNanos }) / 1e9)
        }
        let outcome: RunSummary.Outcome
        if let reason = counters.abortReason {
            outcome = reason.hasPrefix("interrupted") ? .interrupted : .aborted
        } else if stopping.load(ordering: .relaxed) == 1 {
            outcome = .interrupted
        } else {
            outcome = .completed
        }
        let started = itemsStarted.load(ordering: .relaxed)
        let ok = itemsOK.load(ordering: .relaxed), failed = itemsFailed.load(ordering: .relaxed)
        let unfinished = started - ok - failed
        return RunSummary(
            pipeline: graph.name, outcome: outcome, abortReason: counters.abortReason, seconds: seconds,
            itemsStarted: started, itemsOK: ok, itemsFailed: failed,
            itemsUnfinished: max(0, unfinished), packetsDropped: counters.dropped, warnings: counters.warnings,
            stalls: counters.stalls, nodes: nodes, edges: edgeSummaries, failures: counters.failures)
    }

    /// Chrome trace-event JSON (open in Perfetto or chrome://tracing): one complete event
    /// per node invocation, one thread row per node copy.
    public func traceJSON() -> String {
        var events: [Value] = []
        var tid = 0
        for runner in runners {
            for worker in runner.copies {
                tid += 1
                events.append([
                    "ph": "M", "name": "thread_name", "pid": 1, "tid": .int(tid),
                    "args": ["name": .string("\(runner.node.id)#\(worker.copy)")],
                ])
                for span in worker.spans {
                    var args: [String: Value] = ["type": .string(runner.node.type.type)]
                    if let item = span.item { args["item"] = .string(item) }
                    events.append([
                        "ph": "X", "name": .string(runner.node.id), "cat": "node", "pid": 1, "tid": .int(tid),
                        "ts": .double(Double(span.start - min(span.start, startTime)) / 1000),
                        "dur": .double(Double(span.duration) / 1000), "args": .object(args),
                    ])
                }
            }
        }
        return Value.object(["traceEvents": .array(events), "displayTimeUnit": "ms"]).jsonString()
    }
}
