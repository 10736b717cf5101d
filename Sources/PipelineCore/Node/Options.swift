/// The validated options of one node: every declared option with a value or default.
///
/// Accessors trap only on a programming error (asking for an option the node type did
/// not declare with that kind); user mistakes are caught earlier by validation.
public struct Options: Sendable {
    public let values: [String: Value]

    public init(_ values: [String: Value]) {
        self.values = values
    }

    public subscript(name: String) -> Value? { values[name] }

    public func string(_ name: String) -> String? { values[name]?.stringValue }
    public func int(_ name: String) -> Int? { values[name]?.intValue }
    public func double(_ name: String) -> Double? { values[name]?.doubleValue }
    public func bool(_ name: String) -> Bool? { values[name]?.boolValue }
    public func strings(_ name: String) -> [String]? {
        values[name]?.arrayValue?.compactMap(\.stringValue)
    }
}

/// A problem with a node's `with:` block, found by `Options.resolve`.
public enum OptionIssue: Sendable, CustomStringConvertible {
    case unknown(String, known: [String])
    case missing(OptionSpec)
    case invalid(OptionSpec, OptionProblem)
    /// A problem inside the value, found by the spec's `check`.
    case finding(OptionSpec, OptionFinding)

    /// The option the issue is about.
    public var name: String {
        switch self {
        case .unknown(let name, _): return name
        case .missing(let spec), .invalid(let spec, _), .finding(let spec, _): return spec.name
        }
    }

    public var description: String {
        switch self {
        case .unknown(let name, _): return "unknown option '\(name)'"
        case .missing(let spec): return "missing required option '\(spec.name)'"
        case .invalid(let spec, let problem): return "option '\(spec.name)': \(problem)"
        case .finding(let spec, let finding): return "option '\(spec.name)': \(finding)"
        }
    }

    public var hint: String? {
        switch self {
        case .unknown(let name, let known): return Suggestions.hint(for: name, in: known, noun: "option")
        case .missing(let spec): return "\(spec.name) (\(spec.kind.name)): \(spec.doc)"
        case .invalid(let spec, _): return spec.doc.isEmpty ? nil : spec.doc
        case .finding(_, let finding): return finding.hint
        }
    }
}

extension Options {
    /// Checks given option values against a schema: coerces each, fills defaults, and lists
    /// every unknown, missing or invalid option. Used by the loader and the node harness.
    public static func resolve(
        _ given: [String: Value], specs: [OptionSpec], context: OptionCheckContext = .none
    ) -> (Options, [OptionIssue]) {
        var values: [String: Value] = [:]
        var issues: [OptionIssue] = []
        let known = specs.map(\.name)
        for name in given.keys.sorted() where !known.contains(name) {
            issues.append(.unknown(name, known: known))
        }
        for spec in specs {
            if let raw = given[spec.name] {
                switch spec.coerce(raw) {
                case .success(let v):
                    values[spec.name] = v
                    issues += spec.check?(v, context).map { .finding(spec, $0) } ?? []
                case .failure(let problem): issues.append(.invalid(spec, problem))
                }
            } else if let d = spec.defaultValue {
                values[spec.name] = d
            } else if spec.required {
                issues.append(.missing(spec))
            }
        }
        return (Options(values), issues)
    }
}
