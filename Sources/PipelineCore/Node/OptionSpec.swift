/// One option a node type accepts under `with:`, with its type, default and doc.
///
/// Validation checks every option in a pipeline file against these before anything runs,
/// and fills in defaults, so a node's initializer reads options without re-checking them.
public struct OptionSpec: Sendable {
    /// What values an option takes.
    public enum Kind: Sendable, Equatable {
        case string
        case int
        case double
        case bool
        /// A list of strings; a single string is accepted as a one-element list.
        case strings
        /// One of a fixed set of strings.
        case choice([String])
        /// Any YAML value, passed through as JSON.
        case json

        public var name: String {
            switch self {
            case .string: return "string"
            case .int: return "integer"
            case .double: return "number"
            case .bool: return "bool"
            case .strings: return "list of strings"
            case .choice(let values): return "one of " + values.joined(separator: "|")
            case .json: return "any value"
            }
        }
    }

    public let name: String
    public let kind: Kind
    public let required: Bool
    public let defaultValue: Value?
    public let range: ClosedRange<Double>?
    public let doc: String
    /// Checks a structured value past its kind (a task map that must be well formed, a grammar
    /// that must parse, a schema that must compile), each problem with its place in the value,
    /// so validation reports it at that line; nil when the kind alone decides.
    public let check: (@Sendable (Value, OptionCheckContext) -> [OptionFinding])?

    public init(
        _ name: String, _ kind: Kind, required: Bool = false, default defaultValue: Value? = nil,
        range: ClosedRange<Double>? = nil, doc: String,
        check: (@Sendable (Value, OptionCheckContext) -> [OptionFinding])? = nil
    ) {
        self.name = name
        self.kind = kind
        self.required = required
        self.defaultValue = defaultValue
        self.range = range
        self.doc = doc
        self.check = check
    }

    /// Checks and normalises a value for this option; returns nil and a reason when it does not fit.
    public func coerce(_ value: Value) -> Result<Value, OptionProblem> {
        switch kind {
        case .string:
            switch value {
            case .string: return .success(value)
            case .int(let i): return .success(.string(String(i)))
            case .double(let d): return .success(.string(String(d)))
            case .bool(let b): return .success(.string(String(b)))
            default: return .failure(.wrongType(expected: kind.name, got: value.kindName))
            }
        case .int:
            guard let i = value.intValue, case .int = value else {
                return .failure(.wrongType(expected: kind.name, got: value.kindName))
            }
            return checkRange(Double(i)).map { _ in .int(i) }
        case .double:
            guard let d = value.doubleValue else {
                return .failure(.wrongType(expected: kind.name, got: value.kindName))
            }
            return checkRange(d).map { _ in .double(d) }
        case .bool:
            guard case .bool = value else { return .failure(.wrongType(expected: kind.name, got: value.kindName)) }
            return .success(value)
        case .strings:
            switch value {
            case .string: return .success(.array([value]))
            case .array(let items):
                for item in items {
                    guard case .string = item else {
                        return .failure(.wrongType(expected: kind.name, got: "list containing \(item.kindName)"))
                    }
                }
                return .success(value)
            default: return .failure(.wrongType(expected: kind.name, got: value.kindName))
            }
        case .choice(let allowed):
            guard case .string(let s) = value else {
                return .failure(.wrongType(expected: kind.name, got: value.kindName))
            }
            guard allowed.contains(s) else { return .failure(.notAllowed(s, allowed: allowed)) }
            return .success(value)
        case .json:
            return .success(value)
        }
    }

    private func checkRange(_ d: Double) -> Result<Void, OptionProblem> {
        guard let range else { return .success(()) }
        return range.contains(d) ? .success(()) : .failure(.outOfRange(d, range))
    }
}

/// What an option check knows besides the value.
public struct OptionCheckContext: Sendable {
    /// The directory holding the pipeline file (relative paths in options are relative to it).
    public let pipelineDirectory: String

    public init(pipelineDirectory: String) { self.pipelineDirectory = pipelineDirectory }

    /// No pipeline file: relative paths are relative to the working directory.
    public static let none = OptionCheckContext(pipelineDirectory: "")

    /// A path from an option resolved against the pipeline file's directory.
    public func resolve(_ path: String) -> String {
        path.hasPrefix("/") || pipelineDirectory.isEmpty ? path : pipelineDirectory + "/" + path
    }
}

/// Why an option value was refused.
public enum OptionProblem: Error, Sendable, CustomStringConvertible {
    case wrongType(expected: String, got: String)
    case outOfRange(Double, ClosedRange<Double>)
    case notAllowed(String, allowed: [String])

    public var description: String {
        switch self {
        case let .wrongType(expected, got): return "expected \(expected), got \(got)"
        case let .outOfRange(value, range):
            return "\(Self.format(value)) is out of range \(Self.format(range.lowerBound))...\(Self.format(range.upperBound))"
        case let .notAllowed(value, allowed):
            return "'\(value)' is not one of " + allowed.map { "'\($0)'" }.joined(separator: ", ")
        }
    }

    public static func format(_ d: Double) -> String {
        d.rounded() == d && abs(d) < 1e15 ? String(Int(d)) : String(d)
    }
}
