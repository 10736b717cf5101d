import PipelineTensor
/// Why a GGUF file could not be read; every case names the file and what was wrong where.
public enum GGUFError: Error, Sendable, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case badMagic(path: String)
    case unsupportedVersion(path: String, version: UInt32)
    case truncated(path: String, offset: Int, reading: String)
    case absurdCount(path: String, what: String, count: UInt64)
    case tooManyArrayElements(path: String, key: String, count: UInt64, limit: Int)
    case invalidString(path: String, offset: Int)
    case unknownValueType(path: String, key: String, type: UInt32)
    case nestedArray(path: String, key: String)
    case duplicateKey(path: String, key: String)
    case badAlignment(path: String, alignment: Int)
    case unknownTensorType(path: String, tensor: String, type: UInt32)
    case badTensorShape(path: String, tensor: String, reason: String)
    case duplicateTensor(path: String, tensor: String)
    case tensorOutOfRange(path: String, tensor: String, offset: Int, bytes: Int, fileSize: Int)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): return "\(path): cannot open: \(reason)"
        case let .badMagic(path): return "\(path): not a GGUF file (bad magic)"
        case let .unsupportedVersion(path, version): return "\(path): unsupported GGUF version \(version) (2 and 3 are read)"
        case let .truncated(path, offset, what): return "\(path): truncated at byte \(offset) while reading \(what)"
        case let .absurdCount(path, what, count): return "\(path): \(what) count \(count) cannot fit in the file"
        case let .tooManyArrayElements(path, key, count, limit):
            return "\(path): metadata '\(key)' has \(count) elements; at most \(limit) array elements are read per file"
        case let .invalidString(path, offset): return "\(path): string at byte \(offset) is not valid UTF-8"
        case let .unknownValueType(path, key, type): return "\(path): metadata '\(key)' has unknown value type \(type)"
        case let .nestedArray(path, key): return "\(path): metadata '\(key)' is a nested array (not supported)"
        case let .duplicateKey(path, key): return "\(path): metadata key '\(key)' appears twice"
        case let .badAlignment(path, alignment): return "\(path): general.alignment \(alignment) is not a power of two"
        case let .unknownTensorType(path, tensor, type): return "\(path): tensor '\(tensor)' has unknown type id \(type)"
        case let .badTensorShape(path, tensor, reason): return "\(path): tensor '\(tensor)': \(reason)"
        case let .duplicateTensor(path, tensor): return "\(path): tensor '\(tensor)' appears twice"
        case let .tensorOutOfRange(path, tensor, offset, bytes, fileSize):
            return "\(path): tensor '\(tensor)' data (\(bytes) bytes at \(offset)) runs past the end of the file (\(fileSize) bytes)"
        }
    }
}
