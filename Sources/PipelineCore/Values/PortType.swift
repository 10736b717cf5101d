/// The type of a port, used to check connections before a run.
///
/// Types form a small tree: a port accepts its own type and every descendant
/// (`json` accepts `text`, `number`, `bool`; `text` accepts `path`). `any` accepts
/// everything. Other targets add their own types (`image`, `audio`, `tensor`) with
/// `PortType(name:parent:)`.
public struct PortType: Hashable, Sendable, CustomStringConvertible {
    public let name: String
    private let ancestry: [String]
    /// Default queue capacity for edges carrying this type, when it should be smaller than
    /// the run-wide default: large values (decoded frames, audio windows, tensors) set it so
    /// a queue holds megabytes, not gigabytes. A node's `queue.capacity` overrides it.
    public let queueCapacity: Int?

    /// Declares a type below `parent` (or at the root, below `any`).
    public init(name: String, parent: PortType? = nil, queueCapacity: Int? = nil) {
        self.name = name
        self.ancestry = parent.map { [$0.name] + $0.ancestry } ?? (name == "any" ? [] : ["any"])
        self.queueCapacity = queueCapacity ?? parent?.queueCapacity
    }

    /// True when a value of type `other` may flow into a port of this type. An `any` output
    /// connects to every input: what it carries is only known at run time.
    public func accepts(_ other: PortType) -> Bool {
        name == "any" || other.name == "any" || other == self || other.ancestry.contains(name)
    }

    public var description: String { name }

    public static func == (lhs: PortType, rhs: PortType) -> Bool { lhs.name == rhs.name }
    public func hash(into hasher: inout Hasher) { hasher.combine(name) }

    public static let any = PortType(name: "any")
    public static let json = PortType(name: "json")
    public static let text = PortType(name: "text", parent: .json)
    public static let path = PortType(name: "path", parent: .text)
    public static let number = PortType(name: "number", parent: .json)
    public static let bool = PortType(name: "bool", parent: .json)
    public static let bytes = PortType(name: "bytes")
}

/// A named, typed input or output of a node type.
public struct PortSpec: Sendable {
    public let name: String
    public let type: PortType
    public let doc: String
    /// An input port a pipeline file may leave unconnected: the node then runs without it
    /// (`input.packet(name)` is nil) and the item joins on the ports that are connected.
    public let optional: Bool

    public init(_ name: String, _ type: PortType, optional: Bool = false, doc: String = "") {
        self.name = name
        self.type = type
        self.optional = optional
        self.doc = doc
    }
}
