/// A problem inside a structured option's value (a task map, a schema), found by its spec's
/// `check`: where in the value it is, so validation points at that line of the pipeline file.
public struct OptionFinding: Error, Sendable, Equatable, CustomStringConvertible {
    /// Mapping keys and list indices (as decimal text) from the option's value to the part at
    /// fault; empty for the value itself.
    public let path: [String]
    public let message: String
    public let hint: String?
    /// The fault is the last key itself (an unknown key), not its value.
    public let atKey: Bool

    public init(_ path: [String], _ message: String, hint: String? = nil, atKey: Bool = false) {
        self.path = path
        self.message = message
        self.hint = hint
        self.atKey = atKey
    }

    /// `path.to.part: message`, or the message alone at the top.
    public var description: String { path.isEmpty ? message : path.joined(separator: ".") + ": " + message }
}
