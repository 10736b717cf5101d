/// Why a BERT encoder could not be loaded or run.
public enum BertError: Error, Sendable, Equatable, CustomStringConvertible {
    case cannotRead(path: String)
    case badConfig(path: String, reason: String)
    case tokenOutOfRange(id: Int32, vocabSize: Int)
    case sequenceTooLong(length: Int, maxPositions: Int)

    public var description: String {
        switch self {
        case let .cannotRead(path): return "\(path): cannot read"
        case let .badConfig(path, reason): return "\(path): \(reason)"
        case let .tokenOutOfRange(id, vocabSize): return "token id \(id) is outside the vocabulary (\(vocabSize) tokens)"
        case let .sequenceTooLong(length, maxPositions):
            return "a sequence of \(length) tokens is longer than the model's \(maxPositions) positions"
        }
    }
}
