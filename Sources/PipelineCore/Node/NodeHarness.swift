/// Drives one node without the scheduler: feed inputs, read what it emits.
///
/// Like swift-nio's embedded channel, it runs `process` synchronously on the caller's
/// thread, so node tests need no graph, no queues and no timing.
///
/// ```swift
/// let node = try NodeHarness(WordCount.self, options: ["min_length": 2])
/// let out = try node.process("a bb ccc")
/// #expect(out[0].value["words"] == 2)
/// ```
public final class NodeHarness {
    /// One packet the node emitted.
    public struct Emitted: Sendable {
        public let port: String
        public let value: Value
        public let item: String
        public let sequence: Int
        public let timestamp: Double?
    }

    /// Options that failed the node type's schema.
    public struct InvalidOptions: Error, CustomStringConvertible {
        public let issues: [OptionIssue]
        public var description: String { issues.map(\.description).joined(separator: "; ") }
    }

    private final class Recorder: PacketRouter {
        var emitted: [Emitted] = []
        let ports: [String]
        var stopping = false
        init(ports: [String]) { self.ports = ports }
        func route(port: Int, packet: consuming Packet) {
            emitted.append(
                Emitted(port: ports[port], value: packet.value, item: packet.item.id, sequence: packet.sequence,
                    timestamp: packet.timestamp))
        }
        var failures: [(item: String, message: String)] = []
        func makeItem(id: String) -> Item { Item(id: id) }
        func fail(_ item: Item, message: String) { failures.append((item.id, message)) }
        func hold(_ item: Item) { item.retain() }
        func unhold(_ item: Item) { item.release() }
        func flush() {}
        var isStopping: Bool { stopping }
    }

    public let type: any PipelineNode.Type
    public let node: any PipelineNode
    private let recorder: Recorder
    private let output: NodeOutput
    /// A collector's items by id, so packets fed with the same item id belong to one item
    /// (collectors key their state on it) until `endItem`.
    private var items: [String: Item] = [:]

    /// Builds the node from options checked against its schema, defaults filled in.
    public init(_ type: any PipelineNode.Type, options: [String: Value] = [:], context: NodeContext? = nil) throws {
        let (resolved, issues) = Options.resolve(options, specs: type.options)
        guard issues.isEmpty else { throw InvalidOptions(issues: issues) }
        self.type = type
        self.node = try type.init(options: resolved, context: context ?? NodeContext(nodeID: "harness"))
        self.recorder = Recorder(ports: type.outputs.map(\.name))
        self.output = NodeOutput(ports: type.outputs, router: recorder)
    }

    /// Makes sources see a stopping run (their next new item throws `RunStopping`).
    public var stopping: Bool {
        get { recorder.stopping }
        set { recorder.stopping = newValue }
    }

    /// Items the node failed through `NodeOutput.fail(item:_:)`, in order.
    public var failures: [(item: String, message: String)] { recorder.failures }

    /// Feeds one value on the first (or named) input port.
    public func process(
        _ value: Value, port: String? = nil, item: String = "item", sequence: Int = 0, timestamp: Double? = nil
    ) throws -> [Emitted] {
        try process([port ?? type.inputs.first?.name ?? "in": value], item: item, sequence: sequence, timestamp: timestamp)
    }

    /// Feeds one value per named input port, all of the same item and sequence.
    public func process(
        _ values: [String: Value], item: String = "item", sequence: Int = 0, timestamp: Double? = nil
    ) throws -> [Emitted] {
        let owner = items[item] ?? Item(id: item)
        if node is any ItemCollector { items[item] = owner }
        let packets = type.inputs.compactMap { port in
            values[port.name].map { (port.name, Packet(value: $0, item: owner, sequence: sequence, timestamp: timestamp)) }
        }
        return try collect(NodeInput(packets.map { (port: $0.0, packet: $0.1) }))
    }

    /// Runs a source node's single `process` call.
    public func run() throws -> [Emitted] {
        defer { output.closeOpenItem() }
        return try collect(NodeInput([]))
    }

    /// Tells an `ItemCollector` that the item fed as `item` is complete (or failed), as the
    /// scheduler does once no more of its packets can arrive, and returns what it emitted.
    public func endItem(_ item: String, failed: Bool = false) throws -> [Emitted] {
        guard let collector = node as? any ItemCollector else {
            throw NodeError("\(type.type) is not an item collector")
        }
        let owner = items.removeValue(forKey: item) ?? Item(id: item)
        output.endingItem = owner
        defer { output.endingItem = nil }
        return try collect(nil) { try collector.itemEnded(owner, failed: failed, self.output) }
    }

    /// Calls `finish` and returns what it emitted.
    public func finish() throws -> [Emitted] {
        try collect(nil) { try self.node.finish(self.output) }
    }

    private func collect(_ input: NodeInput?, _ body: (() throws -> Void)? = nil) throws -> [Emitted] {
        recorder.emitted = []
        output.setCurrent(input?.packet(at: 0))
        defer { output.setCurrent(nil) }
        if let body {
            try body()
        } else {
            try node.process(input!, output)
        }
        return recorder.emitted
    }
}
