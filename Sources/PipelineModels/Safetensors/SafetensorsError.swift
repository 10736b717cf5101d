/// Why a safetensors file, or a tensor asked of it, could not be read. Every case names the
/// file, and the tensor where one is involved, with what was wrong.
public enum SafetensorsError: Error, Sendable, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case truncated(path: String, fileSize: Int)
    case badHeaderLength(path: String, length: UInt64, fileSize: Int)
    case badHeader(path: String, reason: String)
    case badTensorEntry(path: String, tensor: String, reason: String)
    case unknownDType(path: String, tensor: String, dtype: String)
    case offsetsOutOfRange(path: String, tensor: String, begin: Int, end: Int, dataSize: Int)
    case sizeMismatch(path: String, tensor: String, expectedBytes: Int, actualBytes: Int)
    case missingTensor(path: String, tensor: String, expectedShape: [Int])
    case wrongShape(path: String, tensor: String, expected: [Int], actual: [Int])
    case wrongDType(path: String, tensor: String, expected: String, actual: SafetensorsDType)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): return "\(path): cannot open: \(reason)"
        case let .truncated(path, fileSize):
            return "\(path): truncated: \(fileSize) bytes, too short for the 8-byte header length"
        case let .badHeaderLength(path, length, fileSize):
            return "\(path): header length \(length) does not fit in the file (\(fileSize) bytes)"
        case let .badHeader(path, reason): return "\(path): bad JSON header: \(reason)"
        case let .badTensorEntry(path, tensor, reason): return "\(path): tensor '\(tensor)': \(reason)"
        case let .unknownDType(path, tensor, dtype):
            return "\(path): tensor '\(tensor)' has dtype '\(dtype)' (read: "
                + SafetensorsDType.allCases.map(\.rawValue).joined(separator: ", ") + ")"
        case let .offsetsOutOfRange(path, tensor, begin, end, dataSize):
            return "\(path): tensor '\(tensor)' data_offsets [\(begin), \(end)] fall outside the data (\(dataSize) bytes)"
        case let .sizeMismatch(path, tensor, expected, actual):
            return "\(path): tensor '\(tensor)' spans \(actual) bytes but its dtype and shape need \(expected)"
        case let .missingTensor(path, tensor, shape):
            return "\(path): no tensor '\(tensor)' (expected shape \(shape))"
        case let .wrongShape(path, tensor, expected, actual):
            return "\(path): tensor '\(tensor)' has shape \(actual), expected \(expected)"
        case let .wrongDType(path, tensor, expected, actual):
            return "\(path): tensor '\(tensor)' is \(actual.rawValue), expected \(expected)"
        }
    }
}
