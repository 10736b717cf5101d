/// Why fusion weights could not be loaded or applied.
public enum FusionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The weights' input width is not the width of the tokens they are given (or of the
    /// encoder named to produce them).
    case tokenWidth(path: String, weights: [Int], tokens: [Int], source: String)
    /// The weights' output width is not the language model's embedding width.
    case modelWidth(path: String, weights: [Int], model: String, width: Int)
    /// A tensor the connector needs is missing or a size in the file is unusable.
    case badWeights(path: String, reason: String)
    /// Tokens that are not a non-empty `[count, width]` matrix.
    case badTokens(reason: String)

    public var description: String {
        switch self {
        case let .tokenWidth(path, weights, tokens, source):
            return "\(path): the connector reads \(weights.last ?? 0)-wide tokens (weight shape \(weights)) but \(source) gives tokens of shape \(tokens)"
        case let .modelWidth(path, weights, model, width):
            return "\(path): the connector writes \(weights.first ?? 0)-wide vectors (weight shape \(weights)) but \(model) takes \(width)-wide embeddings (shape [\(width)])"
        case let .badWeights(path, reason): return "\(path): \(reason)"
        case let .badTokens(reason): return "bad tokens: \(reason)"
        }
    }
}
