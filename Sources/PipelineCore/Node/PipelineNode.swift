/// A node type usable from YAML: its name, typed ports, option schema and behaviour.
///
/// The scheduler creates one instance per copy (`concurrency: N` makes N) and calls
/// `process` serially on each instance, so a node may keep mutable state without locks.
/// Nodes with no inputs are sources: `process` is called once and emits new items.
///
/// ```swift
/// final class Upper: PipelineNode {
///     static let type = "text.upper"
///     static let summary = "Upper-cases text."
///     static let inputs = [PortSpec("text", .text)]
///     static let outputs = [PortSpec("text", .text)]
///     static let options: [OptionSpec] = []
///     init(options: Options, context: NodeContext) {}
///     func process(_ input: NodeInput, _ output: NodeOutput) throws {
///         try output.emit(.string(input.value.stringValue!.uppercased()))
///     }
/// }
/// ```
public protocol PipelineNode: AnyObject, SendableMetatype {
    /// The name used as `type:` in pipeline files, dotted by family (`image.decode`).
    static var type: String { get }
    /// One line for `pipeline nodes`.
    static var summary: String { get }
    static var inputs: [PortSpec] { get }
    static var outputs: [PortSpec] { get }
    static var options: [OptionSpec] { get }
    /// A YAML snippet for `pipeline describe`.
    static var example: String { get }
    /// For a node type a command puts into the graph itself (listed and described, so users
    /// can see what runs): why it cannot be written in a pipeline file and what to write
    /// instead. Nil for every type a file may use.
    static var placedByCommand: String? { get }

    /// Builds one copy from validated options. Throwing here fails the run before any item starts.
    init(options: Options, context: NodeContext) throws

    /// Handles one joined input (one packet per input port, same item and sequence).
    /// Errors fail the item, not the run (unless `on_error: fail`).
    func process(_ input: NodeInput, _ output: NodeOutput) throws

    /// Called once after the last input; may emit trailing packets (aggregates, flushes).
    func finish(_ output: NodeOutput) throws
}

extension PipelineNode {
    public static var example: String { "" }
    public static var placedByCommand: String? { nil }
    public func finish(_ output: NodeOutput) throws {}
    /// True when the node has no input ports.
    public static var isSource: Bool { inputs.isEmpty }
}

/// What a node knows about where it runs.
public struct NodeContext: Sendable {
    /// The node's `id` in the pipeline file.
    public let nodeID: String
    /// Which copy this is, 0..<concurrency.
    public let copy: Int
    /// The directory holding the pipeline file.
    public let pipelineDirectory: String
    /// Receives warnings; they are printed and counted in the run summary.
    public let warn: @Sendable (String) -> Void
    /// Registers a callback for every item that finishes in the run (any thread).
    public let observeItems: @Sendable (@escaping @Sendable (ItemOutcome) -> Void) -> Void
    /// Registers the run's item committer, which writes staged appends with each item's
    /// completion record (a watch source's ledger; see `StagedAppend`).
    public let commitItems: @Sendable (@escaping @Sendable (ItemOutcome) -> Void) -> Void
    /// Whether the run has an item committer: a sink appending to a shared file then stages
    /// its bytes (`NodeOutput.stageAppend`) instead of writing them. Ask when processing, not
    /// in `init` (the committer's node may be created after the sink).
    public let itemsAreCommitted: @Sendable () -> Bool

    public init(
        nodeID: String, copy: Int = 0, pipelineDirectory: String = ".",
        warn: @escaping @Sendable (String) -> Void = { _ in },
        observeItems: @escaping @Sendable (@escaping @Sendable (ItemOutcome) -> Void) -> Void = { _ in },
        commitItems: @escaping @Sendable (@escaping @Sendable (ItemOutcome) -> Void) -> Void = { _ in },
        itemsAreCommitted: @escaping @Sendable () -> Bool = { false }
    ) {
        self.nodeID = nodeID
        self.copy = copy
        self.pipelineDirectory = pipelineDirectory
        self.warn = warn
        self.observeItems = observeItems
        self.commitItems = commitItems
        self.itemsAreCommitted = itemsAreCommitted
    }
}

/// An error a node throws for one item: the run reports it with the node id and item.
public struct NodeError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
