/// Why `head.prototypes` refused an example, a query or its state file.
public enum PrototypeHeadError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The input is not a feature vector.
    case notAFeature(item: String, got: String)
    /// A feature of another width than the examples the head holds.
    case dimensionMismatch(item: String, got: Int, expected: Int)
    /// A component that is NaN, infinite or too large to sum exactly.
    case badComponent(item: String, index: Int, value: Float)
    /// A class folder whose name is not a class name.
    case notAClassName(item: String, name: String, reason: String)
    /// The state file is damaged.
    case corruptState(path: String, offset: Int, reason: String)
    /// The state file could not be read or written.
    case stateIO(path: String, reason: String)

    public var description: String {
        switch self {
        case .notAFeature(let item, let got):
            return "\(item): expected a feature vector (an embedding, a 1-D tensor or a JSON number list), got \(got)"
        case .dimensionMismatch(let item, let got, let expected):
            return "\(item): the feature has \(got) numbers but the head holds \(expected)-number features "
                + "(use one head per encoder)"
        case .badComponent(let item, let index, let value):
            return "\(item): feature component \(index) is \(value); components must be finite and below 2^40 in magnitude"
        case .notAClassName(let item, let name, let reason):
            return "\(item): folder '\(name)' is not a class name: \(reason)"
        case .corruptState(let path, let offset, let reason):
            return "\(path): head state is damaged at byte \(offset): \(reason)"
        case .stateIO(let path, let reason):
            return "\(path): \(reason)"
        }
    }
}
