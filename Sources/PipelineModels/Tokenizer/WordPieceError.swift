/// Why a WordPiece tokenizer could not be built from its files.
public enum WordPieceError: Error, Sendable, Equatable, CustomStringConvertible {
    case cannotRead(path: String)
    case badJSON(path: String, reason: String)
    case missingToken(String)
    case unsupported(path: String, what: String)

    public var description: String {
        switch self {
        case let .cannotRead(path): return "\(path): cannot read"
        case let .badJSON(path, reason): return "\(path): \(reason)"
        case let .missingToken(token): return "the vocabulary has no \(token) token"
        case let .unsupported(path, what): return "\(path): unsupported \(what)"
        }
    }
}
