/// Why a CTranslate2 `model.bin`, or a variable asked of it, could not be read. Every case
/// names the file, and the variable where one is involved.
public enum CT2Error: Error, Sendable, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case truncated(path: String, offset: Int, need: Int, fileSize: Int, what: String)
    case unsupportedVersion(path: String, version: UInt32)
    case badString(path: String, offset: Int)
    case unknownDType(path: String, variable: String, dtype: UInt8)
    case sizeMismatch(path: String, variable: String, expectedBytes: Int, actualBytes: Int)
    case missingVariable(path: String, variable: String, expectedShape: [Int])
    case wrongShape(path: String, variable: String, expected: [Int], actual: [Int])
    case wrongDType(path: String, variable: String, expected: String, actual: CT2DType)
    case wrongSpec(path: String, spec: String, expected: String)
    case badValue(path: String, variable: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): return "\(path): cannot open: \(reason)"
        case let .truncated(path, offset, need, size, what):
            return "\(path): truncated: \(what) needs \(need) bytes at offset \(offset), file has \(size)"
        case let .unsupportedVersion(path, version):
            return "\(path): CTranslate2 binary version \(version) (read: 3 to 6)"
        case let .badString(path, offset): return "\(path): bad string at offset \(offset)"
        case let .unknownDType(path, variable, dtype):
            return "\(path): variable '\(variable)' has unknown dtype id \(dtype)"
        case let .sizeMismatch(path, variable, expected, actual):
            return "\(path): variable '\(variable)' has \(actual) bytes but its dtype and shape need \(expected)"
        case let .missingVariable(path, variable, shape):
            return "\(path): no variable '\(variable)' (expected shape \(shape))"
        case let .wrongShape(path, variable, expected, actual):
            return "\(path): variable '\(variable)' has shape \(actual), expected \(expected)"
        case let .wrongDType(path, variable, expected, actual):
            return "\(path): variable '\(variable)' is \(actual), expected \(expected)"
        case let .wrongSpec(path, spec, expected): return "\(path): model spec is '\(spec)', expected '\(expected)'"
        case let .badValue(path, variable, reason): return "\(path): variable '\(variable)': \(reason)"
        }
    }
}

/// The element types of CTranslate2 variables, numbered as its `DataType` enum.
public enum CT2DType: UInt8, Sendable, CaseIterable {
    case float32 = 0, int8, int16, int32, float16, bfloat16

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .int8: return 1
        case .int16, .float16, .bfloat16: return 2
        case .float32, .int32: return 4
        }
    }
}
