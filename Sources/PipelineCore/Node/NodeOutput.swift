/// Where a node's emitted packets go: the scheduler's router in a run, a recorder in the harness.
protocol PacketRouter: AnyObject {
    func route(port: Int, packet: consuming Packet)
    func makeItem(id: String) -> Item
    func fail(_ item: Item, message: String)
    /// Keeps an item open while a source emits it (it cannot finish, nor look complete to
    /// collectors downstream); `unhold` lets it go.
    func hold(_ item: Item)
    func unhold(_ item: Item)
    /// Sends buffered packets downstream now.
    func flush()
    var isStopping: Bool { get }
}

/// Thrown by `emit` in a source when the run is stopping (Ctrl-C): the source unwinds and
/// the packets already emitted drain through the graph. The scheduler catches it.
public struct RunStopping: Error, Sendable {}

/// The output side of a `process` call: emit values on output ports.
///
/// A packet inherits the item, sequence and timestamp of the input being processed unless
/// the call says otherwise. Sources start items by naming them (`item:`).
public final class NodeOutput {
    let portNames: [String]
    private let router: any PacketRouter
    /// The first input packet of the `process` call running now (nil between calls, and for a
    /// source): its item, sequence and timestamp are what an `emit` inherits. Set by the
    /// scheduler per call without copying the input (no reference counting per call); the item
    /// is kept alive by the batch the call's input came from.
    unowned(unsafe) private(set) var currentItem: Item?
    private(set) var currentSequence = 0
    private(set) var currentTimestamp: Double?

    /// Starts a `process` call on `packet` (the input's first packet), or ends one (nil).
    @inline(__always) func setCurrent(_ packet: borrowing Packet?) {
        switch packet {
        case .some(let p):
            currentItem = p.item
            currentSequence = p.sequence
            currentTimestamp = p.timestamp
        case .none:
            currentItem = nil
        }
    }
    /// The item a source is emitting, held open until it moves on to another.
    private(set) var openItem: Item?
    /// The item an `ItemCollector` is ending, during `itemEnded`.
    var endingItem: Item?

    init(ports: [PortSpec], router: any PacketRouter) {
        self.portNames = ports.map(\.name)
        self.router = router
    }

    /// True once the run is stopping: sources should stop starting new items.
    public var isStopping: Bool { router.isStopping }

    /// Emits a value for the item being processed.
    public func emit(_ value: consuming Value, to port: String? = nil, sequence: Int? = nil, timestamp: Double? = nil) throws {
        let index = try portIndex(port)
        if let item = currentItem {
            router.route(
                port: index,
                packet: Packet(
                    value: consume value, item: item, sequence: sequence ?? currentSequence,
                    timestamp: timestamp ?? currentTimestamp))
        } else if let endingItem {
            router.route(
                port: index, packet: Packet(value: consume value, item: endingItem, sequence: sequence ?? 0, timestamp: timestamp))
        } else if let openItem {
            router.route(
                port: index, packet: Packet(value: consume value, item: openItem, sequence: sequence ?? 0, timestamp: timestamp))
        } else {
            throw NodeError("emit called with no input to inherit an item from: pass item:")
        }
    }

    /// Emits a value for the named item, starting it if it is new. Sources use this; the
    /// item stays open until the node emits for another item or returns.
    public func emit(
        _ value: consuming Value, to port: String? = nil, item id: String, sequence: Int = 0, timestamp: Double? = nil
    ) throws {
        let index = try portIndex(port)
        if openItem?.id != id {
            if router.isStopping { throw RunStopping() }
            let item = router.makeItem(id: id)
            router.hold(item)
            closeOpenItem()
            openItem = item
        }
        router.route(port: index, packet: Packet(value: consume value, item: openItem!, sequence: sequence, timestamp: timestamp))
    }

    /// Reports an item that fails before it emits anything (a source's missing file):
    /// the run counts it as failed with this message and goes on.
    public func fail(item id: String, _ message: String) throws {
        if router.isStopping { throw RunStopping() }
        let item = router.makeItem(id: id)
        router.hold(item)
        router.fail(item, message: message)
        router.unhold(item)
    }

    /// Records that a sink published a file for the item being processed (reported with the
    /// item's outcome; the watch ledger stores it).
    public func published(_ path: String) {
        (currentItem ?? endingItem ?? openItem)?.published(path)
    }

    /// Says the item a source was emitting is complete, so it can finish as soon as its
    /// packets are through. Sources that wait between items (a folder watcher) call this;
    /// otherwise an item ends when the source emits for another item or returns.
    public func endItem() {
        router.flush()
        closeOpenItem()
    }

    /// Releases the hold on the item a source was emitting.
    func closeOpenItem() {
        if let openItem { router.unhold(openItem) }
        openItem = nil
    }

    @inline(__always) private func portIndex(_ port: String?) throws -> Int {
        guard let port else {
            guard !portNames.isEmpty else { throw NodeError("this node has no output ports") }
            return 0
        }
        return try portIndex(named: port)
    }

    private func portIndex(named port: String) throws -> Int {
        if portNames.count == 1, portNames[0] == port { return 0 }
        guard let i = portNames.firstIndex(of: port) else {
            throw NodeError("no output port '\(port)' (ports: \(portNames.joined(separator: ", ")))")
        }
        return i
    }
}
