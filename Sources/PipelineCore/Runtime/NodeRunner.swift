import Dispatch
import Synchronization

/// Runs one graph node: owns its inbox, its copies, and its outgoing edges.
final class NodeRunner: @unchecked Sendable {
    /// Where one outgoing edge delivers.
    struct OutEdge {
        let edgeIndex: Int
        let target: NodeRunner
        let lane: Int
    }

    let index: Int
    let node: GraphNode
    unowned let run: PipelineRun
    let inbox: Inbox?
    /// Output port -> indices into `outEdges`.
    var portEdges: [[Int]] = []
    var outEdges: [OutEdge] = []
    var sequencer: Sequencer?
    var copies: [CopyWorker] = []
    let liveCopies: Atomic<Int>
    let inputNames: [String]
    /// The collector regions (see `ItemCollector`) this node lies in: a packet queued here or
    /// being processed here counts in each. Set by the run before it starts.
    var regions: [Int] = []
    /// For a collector: its own region, and the regions its holds count in (its own regions
    /// but that one, so collectors downstream wait for what it will emit at an item's end).
    var collectorRegion: Int?
    var holdRegions: [Int] = []

    init(index: Int, node: GraphNode, run: PipelineRun, graph: PipelineGraph) {
        self.index = index
        self.node = node
        self.run = run
        self.inputNames = node.inputPorts.map(\.name)
        self.liveCopies = Atomic(node.concurrency)
        if node.type.inputs.isEmpty {
            inbox = nil
        } else {
            let lanes = node.inputs.indices.map { port in
                Inbox.Lane(
                    capacity: node.capacity(ofInput: port, in: graph), policy: node.queuePolicy,
                    producers: graph.nodes[node.inputs[port].node].concurrency)
            }
            inbox = Inbox(lanes: lanes, consumers: node.concurrency) { [unowned run] dropped in
                run.packetDropped(dropped, at: index)
            }
        }
    }

    /// Creates the node instances; a throwing initializer fails the run before it starts.
    func makeCopies() throws {
        for copy in 0..<node.concurrency {
            let context = NodeContext(
                nodeID: node.id, copy: copy, pipelineDirectory: run.pipelineDirectory,
                warn: { [unowned run, id = node.id] message in run.warning(node: id, message: message) },
                observeItems: { [unowned run] observer in run.observeItems(observer) },
                commitItems: { [unowned run] committer in run.commitItems(committer) },
                itemsAreCommitted: { [unowned run] in run.itemsAreCommitted })
            let instance: any PipelineNode
            do {
                instance = try node.type.init(options: node.options, context: context)
            } catch {
                throw RunSetupError(node: node.id, message: "\(error)")
            }
            copies.append(CopyWorker(runner: self, copy: copy, instance: instance))
        }
        if node.concurrency > 1 && node.ordered && inbox != nil {
            // Only pool copies have a sequencer, so whoever forwards runs on a pool thread.
            sequencer = Sequencer(window: node.concurrency * 2) { [unowned self] chunk in
                for (edge, packets) in chunk { deliver(edge: edge, packets) }
            }
        }
        if let inbox {
            let copies = copies
            inbox.onData = {
                for worker in copies { worker.wake() }
            }
        }
    }

    /// Pushes a sequencer's packets along one outgoing edge, on a pool thread, waiting per the
    /// edge's policy. The sequencer keeps arrays, so the edge gets its own copies of the packets
    /// (a copy's own flushes move theirs, see `CopyWorker.flush`).
    func deliver(edge: Int, _ packets: [Packet]) {
        let out = outEdges[edge]
        let owned = UnsafeMutableBufferPointer<Packet>.allocate(capacity: packets.count)
        _ = owned.initialize(from: packets)
        _ = out.target.inbox!.push(owned: owned, lane: out.lane, pool: .passUnretained(run.pool), edge: out.edgeIndex)
        owned.deallocate()
        run.progress.add(1, ordering: .relaxed)
    }

    /// Called by each copy when it has emitted its last packet.
    func copyFinished() {
        for out in outEdges { out.target.inbox!.closeProducer(lane: out.lane) }
        let (_, left) = liveCopies.subtract(1, ordering: .acquiringAndReleasing)
        guard left == 0, let inbox else { return }
        for slots in inbox.takeUnjoined() {
            let present = slots.compactMap { $0 }
            guard let item = present.first?.item else { continue }
            if !item.isFailed {
                let missing = zip(inputNames, slots).filter { $0.1 == nil }.map { "'\($0.0)'" }
                run.itemFailed(
                    item, node: node.id,
                    message: "no packet arrived on input \(missing.joined(separator: ", ")) for sequence "
                        + "\(present[0].sequence) (an upstream node emitted nothing for it)")
            }
            for p in present { Self.release(p, regions: regions) }
        }
    }

    /// Lets go of a packet that reached a node (processed, skipped or never joined) whose
    /// collector regions are `regions`.
    @inline(__always) static func release(_ packet: borrowing Packet, regions: borrowing [Int]) {
        for i in regions.indices { packet.item.leaveRegion(regions[i]) }
        packet.item.release()
    }
}

/// Why a run could not start.
public struct RunSetupError: Error, Sendable, CustomStringConvertible {
    public let node: String
    public let message: String
    public var description: String { "node '\(node)': could not start: \(message)" }
}
