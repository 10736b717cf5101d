/// A safetensors element type this reader understands.
public enum SafetensorsDType: String, Sendable, CaseIterable, Equatable {
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"
    case i64 = "I64"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .i64: return 8
        }
    }

    /// True for the floating-point types `floats(_:shape:)` converts to `Float`.
    public var isFloat: Bool { self != .i64 }
}
