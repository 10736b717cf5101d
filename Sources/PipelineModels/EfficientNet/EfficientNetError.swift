/// Why an EfficientNet could not be loaded or run.
public enum EfficientNetError: Error, Sendable, Equatable, CustomStringConvertible {
    case badInput(reason: String)
    case badClassNames(path: String, reason: String)
    case badWeights(reason: String)

    public var description: String {
        switch self {
        case let .badInput(reason): return "bad image input: \(reason)"
        case let .badClassNames(path, reason): return "\(path): \(reason)"
        case let .badWeights(reason): return "bad weights: \(reason)"
        }
    }
}
