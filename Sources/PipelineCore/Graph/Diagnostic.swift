/// A place in a pipeline file: 1-based line and column as libyaml counts them.
public struct SourceLocation: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }

    public static func < (lhs: SourceLocation, rhs: SourceLocation) -> Bool {
        (lhs.file, lhs.line, lhs.column) < (rhs.file, rhs.line, rhs.column)
    }
}

/// One problem found in a pipeline file, with where it is and how to fix it.
public struct Diagnostic: Error, Sendable, Hashable, CustomStringConvertible {
    public let location: SourceLocation
    public let message: String
    public let hint: String?

    public init(_ location: SourceLocation, _ message: String, hint: String? = nil) {
        self.location = location
        self.message = message
        self.hint = hint
    }

    /// `file:line:col: error: message`, then the hint on its own indented line.
    public var description: String {
        var s = "\(location): error: \(message)"
        if let hint { s += "\n  hint: \(hint)" }
        return s
    }
}

/// Every problem found in a pipeline file; thrown by loading so nothing runs on an invalid graph.
public struct ValidationFailure: Error, Sendable, CustomStringConvertible {
    public let diagnostics: [Diagnostic]

    public init(_ diagnostics: [Diagnostic]) {
        self.diagnostics = diagnostics.sorted { $0.location < $1.location }
    }

    public var description: String {
        let count = diagnostics.count
        return diagnostics.map(\.description).joined(separator: "\n")
            + "\n\(count) error\(count == 1 ? "" : "s")"
    }
}
