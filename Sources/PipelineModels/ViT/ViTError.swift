/// Why a ViT could not be loaded or run.
public enum ViTError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file is not a torchvision `VisionTransformer` state dict this code can run.
    case badWeights(path: String, reason: String)
    case badInput(reason: String)

    public var description: String {
        switch self {
        case let .badWeights(path, reason): return "\(path): \(reason)"
        case let .badInput(reason): return "bad ViT input: \(reason)"
        }
    }
}
