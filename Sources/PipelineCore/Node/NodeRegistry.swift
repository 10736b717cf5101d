/// Maps `type:` names to node types. Built-in and custom node lists are registered into one.
public struct NodeRegistry: @unchecked Sendable {
    public private(set) var types: [String: any PipelineNode.Type] = [:]

    public init(_ lists: [any PipelineNode.Type]...) {
        for list in lists {
            for type in list { register(type) }
        }
    }

    /// Registers a node type; a later registration of the same name replaces the earlier
    /// (so a custom node may override a built-in on purpose).
    public mutating func register(_ type: any PipelineNode.Type) {
        types[type.type] = type
    }

    public subscript(name: String) -> (any PipelineNode.Type)? { types[name] }

    /// Type names in order.
    public var names: [String] { types.keys.sorted() }
}
