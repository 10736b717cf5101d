import Dispatch
import Synchronization

/// What one copy is doing, for the watchdog.
struct CopyActivity: Sendable {
    enum State: String, Sendable {
        case starting, waiting, processing, pushing, finished
    }
    var state: State = .starting
    var since: UInt64 = DispatchTime.now().uptimeNanoseconds
    var item: String?
    var edge: Int?
}

/// One copy of a node: pops batches from the inbox, calls `process`, routes emitted packets
/// into per-edge buffers that are flushed downstream in batches.
final class CopyWorker: PacketRouter, @unchecked Sendable {
    /// Packets buffered per edge before a flush; batching amortises locking and wake-ups.
    static let flushSize = 64

    unowned let runner: NodeRunner
    let copy: Int
    let instance: any PipelineNode
    private(set) var output: NodeOutput!
    private var buffers: [[Packet]]
    /// Per outgoing edge: flush at this many packets (the batch size, or less when the
    /// edge's queue is smaller, so a small queue also bounds what a producer holds).
    private var flushAt: [Int] = []
    private var ordinal: Int?
    let activity = Mutex(CopyActivity())

    // Per-copy counters, read after the run (no sharing while it runs).
    var packetsIn = 0
    var packetsOut = 0
    var calls = 0
    var busyNanos: UInt64 = 0
    var spans: [TraceSpan] = []

    init(runner: NodeRunner, copy: Int, instance: any PipelineNode) {
        self.runner = runner
        self.copy = copy
        self.instance = instance
        self.buffers = []
        self.output = NodeOutput(ports: runner.node.type.outputs, router: self)
    }

    var isStopping: Bool { runner.run.isStopping }

    func makeItem(id: String) -> Item { runner.run.makeItem(id: id) }

    func fail(_ item: Item, message: String) { runner.run.itemFailed(item, node: runner.node.id, message: message) }

    func route(port: Int, packet: Packet) {
        packetsOut += 1
        let targets = runner.portEdges[port]
        guard !targets.isEmpty else { return }
        packet.item.retain(targets.count)
        for t in targets { buffers[t].append(packet) }
        if targets.contains(where: { buffers[$0].count >= flushAt[$0] }) { flush() }
    }

    private func flush() {
        if let sequencer = runner.sequencer, let ordinal {
            var chunk: Sequencer.Chunk = []
            for e in buffers.indices where !buffers[e].isEmpty {
                chunk.append((e, buffers[e]))
                buffers[e].removeAll(keepingCapacity: true)
            }
            if !chunk.isEmpty { sequencer.submit(ordinal, chunk) }
            return
        }
        for e in buffers.indices where !buffers[e].isEmpty {
            setActivity(.pushing, edge: runner.outEdges[e].edgeIndex)
            runner.deliver(edge: e, buffers[e])
            buffers[e].removeAll(keepingCapacity: true)
        }
    }

    /// The copy's whole life: process every input, finish, close outgoing lanes.
    func run() {
        buffers = Array(repeating: [], count: runner.outEdges.count)
        flushAt = runner.outEdges.map { min(Self.flushSize, $0.target.inbox!.lanes[$0.lane].capacity) }
        if let inbox = runner.inbox {
            let sequencer = runner.sequencer
            let limit = runner.run.batchLimit
            while true {
                sequencer?.permits.wait()
                setActivity(.waiting)
                guard let batch = inbox.pop(limit: limit) else {
                    sequencer?.permits.signal()
                    break
                }
                runner.run.progress.add(1, ordering: .relaxed)
                ordinal = batch.ordinal
                for storage in batch.inputs { handle(storage) }
                flush()
                sequencer?.complete(batch.ordinal)
                ordinal = nil
            }
        } else {
            invoke(NodeInput(storage: .none, portNames: []), item: nil)
            output.closeOpenItem()
        }
        ordinal = nil
        output.currentInput = nil
        setActivity(.processing, item: "(finish)")
        do {
            try instance.finish(output)
        } catch {
            runner.run.nodeFailed(node: runner.node.id, message: "finish: \(error)")
        }
        output.closeOpenItem()
        flush()
        setActivity(.finished)
        runner.copyFinished()
    }

    private func handle(_ storage: NodeInput.Storage) {
        let input = NodeInput(storage: storage, portNames: runner.inputNames)
        switch storage {
        case .none:
            return
        case .one(let packet):
            packetsIn += 1
            if !packet.item.isFailed { invoke(input, item: packet.item) }
            packet.item.release()
        case .many(let packets):
            packetsIn += packets.count
            let item = packets[0].item
            if !item.isFailed { invoke(input, item: item) }
            for p in packets { p.item.release() }
        }
    }

    private func invoke(_ input: NodeInput, item: Item?) {
        output.currentInput = item == nil ? nil : input
        setActivity(.processing, item: item?.id)
        let start = DispatchTime.now().uptimeNanoseconds
        do {
            try instance.process(input, output)
        } catch is RunStopping {
            // A source was told to stop starting items; what it emitted drains.
        } catch {
            if let item {
                runner.run.itemFailed(item, node: runner.node.id, message: "\(error)")
            } else if let open = output.openItem {
                runner.run.itemFailed(open, node: runner.node.id, message: "\(error)")
            } else {
                runner.run.nodeFailed(node: runner.node.id, message: "\(error)")
            }
            if runner.node.onError == .fail {
                runner.run.abort(reason: "node '\(runner.node.id)' failed and has on_error: fail")
            }
        }
        let end = DispatchTime.now().uptimeNanoseconds
        calls += 1
        busyNanos += end - start
        if runner.run.tracing {
            spans.append(TraceSpan(start: start, duration: end - start, item: item?.id))
        }
        if item != nil { output.closeOpenItem() }
        output.currentInput = nil
    }

    private func setActivity(_ state: CopyActivity.State, item: String? = nil, edge: Int? = nil) {
        let now = DispatchTime.now().uptimeNanoseconds
        activity.withLock { $0 = CopyActivity(state: state, since: now, item: item, edge: edge) }
    }
}

/// One `process` call, for the trace.
struct TraceSpan: Sendable {
    let start: UInt64
    let duration: UInt64
    let item: String?
}
