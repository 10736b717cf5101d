/// A validated pipeline, ready to run: nodes in topological order with resolved types,
/// options (defaults filled in) and input bindings.
public struct PipelineGraph: @unchecked Sendable {
    public let name: String
    /// The pipeline file path ("<string>" when loaded from text).
    public let file: String
    public let nodes: [GraphNode]
    /// Run settings from the file's `settings:` block.
    public let settings: RunSettings

    public init(name: String, file: String, nodes: [GraphNode], settings: RunSettings = RunSettings()) {
        self.name = name
        self.file = file
        self.nodes = nodes
        self.settings = settings
    }

    /// Every edge: (producer node, output port) -> (consumer node, input port).
    public var edges: [GraphEdge] {
        nodes.enumerated().flatMap { consumer, node in
            node.inputs.enumerated().map { port, binding in
                GraphEdge(fromNode: binding.node, fromPort: binding.port, toNode: consumer, toPort: port)
            }
        }
    }

    /// "src.path -> dec.path" for an edge.
    public func describe(_ edge: GraphEdge) -> String {
        let from = nodes[edge.fromNode], to = nodes[edge.toNode]
        return "\(from.id).\(from.type.outputs[edge.fromPort].name) -> \(to.id).\(to.inputPorts[edge.toPort].name)"
    }
}

/// One node of a validated graph.
public struct GraphNode: @unchecked Sendable {
    public let id: String
    public let type: any PipelineNode.Type
    public let options: Options
    /// Input port index -> the output feeding it.
    public let inputs: [PortRef]
    /// The input ports `inputs` feeds, in the same order: the type's ports, less the optional
    /// ones the file left unconnected.
    public let inputPorts: [PortSpec]
    public let concurrency: Int
    public let ordered: Bool
    public let onError: ErrorPolicy
    /// The `queue.capacity` the file set, or nil for the default (see `capacity(ofInput:in:)`).
    public let queueCapacity: Int?
    public let queuePolicy: QueuePolicy
    public let location: SourceLocation

    public init(
        id: String, type: any PipelineNode.Type, options: Options, inputs: [PortRef], inputPorts: [PortSpec]? = nil,
        concurrency: Int = 1, ordered: Bool = true, onError: ErrorPolicy = .skip, queueCapacity: Int? = nil,
        queuePolicy: QueuePolicy = .block, location: SourceLocation = SourceLocation(file: "<code>", line: 0, column: 0)
    ) {
        self.id = id
        self.type = type
        self.options = options
        self.inputs = inputs
        self.inputPorts = inputPorts ?? type.inputs
        precondition(self.inputPorts.count == inputs.count, "node '\(id)': \(inputs.count) bindings for \(self.inputPorts.count) input ports")
        self.concurrency = concurrency
        self.ordered = ordered
        self.onError = onError
        self.queueCapacity = queueCapacity
        self.queuePolicy = queuePolicy
        self.location = location
    }
}

extension GraphNode {
    /// The capacity of the queue on input `port`: the file's `queue.capacity`, else the
    /// producing port type's hint, else the run-wide default.
    public func capacity(ofInput port: Int, in graph: PipelineGraph) -> Int {
        if let queueCapacity { return queueCapacity }
        let producer = graph.nodes[inputs[port].node]
        let hint = producer.type.outputs[inputs[port].port].type.queueCapacity
        return min(RunSettings.defaultQueueCapacity, hint ?? RunSettings.defaultQueueCapacity)
    }
}

/// An output port of a node, by indices into the graph.
public struct PortRef: Sendable, Hashable {
    public let node: Int
    public let port: Int
    public init(node: Int, port: Int) {
        self.node = node
        self.port = port
    }
}

public struct GraphEdge: Sendable, Hashable {
    public let fromNode: Int
    public let fromPort: Int
    public let toNode: Int
    public let toPort: Int
}

/// Run-wide settings a pipeline file may set under `settings:`.
public struct RunSettings: Sendable, Equatable {
    /// Packets an edge holds before its policy applies (per input port), unless the port
    /// type asks for fewer (large payloads) or the node sets `queue.capacity`.
    public static let defaultQueueCapacity = 512
    /// Seconds without any packet moving before the watchdog reports; 0 disables it.
    public var watchdogSeconds: Double = 30
    /// What the watchdog does on a stall: `warn` reports and waits, `fail` aborts the run.
    public var watchdogAction: WatchdogAction = .warn

    public init(watchdogSeconds: Double = 30, watchdogAction: WatchdogAction = .warn) {
        self.watchdogSeconds = watchdogSeconds
        self.watchdogAction = watchdogAction
    }
}

public enum WatchdogAction: String, Sendable, CaseIterable {
    case warn
    case fail
}

extension PipelineGraph {
    /// A copy with some options of one node replaced, each checked against the node type's
    /// schema (for command-line flags that override a file, like `watch --dir`).
    public func overridingOptions(of nodeID: String, with values: [String: Value]) throws -> PipelineGraph {
        guard let index = nodes.firstIndex(where: { $0.id == nodeID }) else {
            throw NodeError("no node '\(nodeID)'")
        }
        let node = nodes[index]
        var merged = node.options.values
        for (k, v) in values { merged[k] = v }
        let (options, issues) = Options.resolve(merged, specs: node.type.options)
        if let issue = issues.first { throw NodeError("node '\(nodeID)': \(issue)") }
        var updated = nodes
        updated[index] = GraphNode(
            id: node.id, type: node.type, options: options, inputs: node.inputs, inputPorts: node.inputPorts,
            concurrency: node.concurrency,
            ordered: node.ordered, onError: node.onError, queueCapacity: node.queueCapacity,
            queuePolicy: node.queuePolicy, location: node.location)
        return PipelineGraph(name: name, file: file, nodes: updated, settings: settings)
    }
}
