import PipelineTensor

/// Why a model could not be built from a file.
public enum ModelError: Error, Sendable, Equatable, CustomStringConvertible {
    case unsupportedArchitecture(String, supported: [String])
    case missingKey(String)
    case missingTensor(String)
    case badShape(tensor: String, expected: [Int], got: [Int])
    case badValue(key: String, why: String)

    public var description: String {
        switch self {
        case let .unsupportedArchitecture(arch, supported):
            return "architecture '\(arch)' is not supported (supported: \(supported.joined(separator: ", ")))"
        case .missingKey(let key): return "the model file has no '\(key)'"
        case .missingTensor(let name): return "the model file has no tensor '\(name)'"
        case let .badShape(tensor, expected, got): return "tensor '\(tensor)' has shape \(got), expected \(expected)"
        case let .badValue(key, why): return "bad '\(key)': \(why)"
        }
    }
}

/// A decoder-only language model read from a GGUF file: what generation needs of it.
public protocol LanguageModel: AnyObject, Sendable {
    associatedtype Session: LanguageModelSession
    var file: GGUFFile { get }
    /// Positions the model was trained for (`<arch>.context_length`).
    var contextLength: Int { get }
    /// Width of an input embedding (`step(embedding:)` takes this many floats).
    var width: Int { get }
    var vocabSize: Int { get }
    var threads: Int { get set }
    func makeSession() -> Session
}

/// One sequence's state (its KV cache) and the steps that extend it.
public protocol LanguageModelSession: AnyObject {
    /// Positions fed so far.
    var position: Int { get }
    /// Receives named intermediates (llama.cpp's callback names) when set: for debugging parity.
    var trace: ((String, [Float]) -> Void)? { get set }
    /// Feeds one token at the next position and returns the logits for the token after it.
    func step(_ token: Int) throws -> [Float]
    /// Feeds an input vector in place of a token's embedding (`width` floats).
    func step(embedding: [Float]) throws -> [Float]
    /// Feeds the prompt and returns the logits after its last token, bit-identical to stepping.
    func prefill(_ tokens: [Int]) throws -> [Float]
    /// Feeds `tokens` and returns the logits after each of them, bit-identical to stepping.
    func prefillAll(_ tokens: [Int]) throws -> [[Float]]
    /// A copy of the KV cache of every position fed so far.
    func snapshot() -> KVSnapshot
    /// Continues from a snapshot of a session of the same model, as if its tokens had been fed.
    func restore(_ snapshot: KVSnapshot) throws
}

/// Models by `general.architecture`.
public enum ModelRegistry {
    static let architectures: [String: @Sendable (GGUFFile) throws -> any LanguageModel] = [
        "llama": { try LlamaModel(file: $0) },
        "gemma3": { try Gemma3Model(file: $0) },
    ]

    public static var supported: [String] { architectures.keys.sorted() }

    /// The model for the file's architecture, or `ModelError.unsupportedArchitecture`.
    public static func load(_ file: GGUFFile) throws -> any LanguageModel {
        let arch = file.architecture ?? "(none)"
        guard let make = architectures[arch] else { throw ModelError.unsupportedArchitecture(arch, supported: supported) }
        return try make(file)
    }
}
