import Foundation

/// A GGUF model ready to generate: weights, tokenizer and chat template, loaded once per
/// file and shared by everything in the process that names the same file.
public final class LoadedModel: @unchecked Sendable {
    public let path: String
    public let file: GGUFFile
    public let model: any LanguageModel
    public let tokenizer: any TextTokenizer
    /// The model's own chat template, if it ships one.
    public let chatTemplate: ChatTemplate?
    /// Tokens that end a generation (EOS and end-of-turn).
    public let stopTokens: Set<Int>
    /// Prompt prefixes already evaluated on this model, reused by prompts that start with them.
    public let prefixes = PrefixCache(budget: PrefixCache.defaultBudget)

    public init(path: String) throws {
        self.path = path
        file = try GGUFFile(path: path)
        model = try ModelRegistry.load(file)
        let tokenizer = try Tokenizers.load(file)
        self.tokenizer = tokenizer
        let name = { (id: Int?) in id.flatMap { tokenizer.tokens.indices.contains($0) ? tokenizer.tokens[$0] : nil } ?? "" }
        if let source = file["tokenizer.chat_template"]?.string {
            chatTemplate = try ChatTemplate(source, bosToken: name(tokenizer.bos), eosToken: name(tokenizer.eos))
        } else {
            chatTemplate = nil
        }
        stopTokens = Set([tokenizer.eos, file["tokenizer.ggml.eot_token_id"]?.int].compactMap { $0 }).union(tokenizer.endOfGeneration)
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var loaded: [String: LoadedModel] = [:]

    /// The shared instance for the file at `path` (resolved through symlinks), loading it on first use.
    public static func shared(path: String) throws -> LoadedModel {
        let key = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        lock.lock()
        defer { lock.unlock() }
        if let model = loaded[key] { return model }
        let model = try LoadedModel(path: key)
        loaded[key] = model
        return model
    }

    /// The folder models are fetched into (`PIPELINE_MODELS`, else ~/.cache/pipeline/models).
    public static var modelFolder: String {
        if let dir = ProcessInfo.processInfo.environment["PIPELINE_MODELS"], !dir.isEmpty { return dir }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/pipeline/models").path
    }

    /// A path as given, or a file name (with or without `.gguf`) in the model folder, or a
    /// unique prefix of one there ("SmolLM2").
    public static func resolve(_ nameOrPath: String) throws -> String {
        let fm = FileManager.default
        if nameOrPath.contains("/") || fm.fileExists(atPath: nameOrPath) {
            guard fm.fileExists(atPath: nameOrPath) else { throw GenerationError.modelNotFound(nameOrPath, folder: modelFolder, known: []) }
            return nameOrPath
        }
        let files = ((try? fm.contentsOfDirectory(atPath: modelFolder)) ?? []).filter { $0.hasSuffix(".gguf") }.sorted()
        for candidate in [nameOrPath, nameOrPath + ".gguf"] where files.contains(candidate) {
            return modelFolder + "/" + candidate
        }
        let matches = files.filter { $0.lowercased().hasPrefix(nameOrPath.lowercased()) }
        if matches.count == 1 { return modelFolder + "/" + matches[0] }
        throw GenerationError.modelNotFound(nameOrPath, folder: modelFolder, known: files)
    }
}

/// Why a generation could not run.
public enum GenerationError: Error, Sendable, Equatable, CustomStringConvertible {
    case modelNotFound(String, folder: String, known: [String])
    case contextOverflow(promptTokens: Int, contextLength: Int)
    case noChatTemplate(String)
    case badOptions(String)
    case emptyPrompt

    public var description: String {
        switch self {
        case let .modelNotFound(name, folder, known):
            let list = known.isEmpty ? "it holds no .gguf files (run scripts/fetch-models)" : "it holds: " + known.joined(separator: ", ")
            return "no model '\(name)' (not a file, and not in \(folder); \(list))"
        case let .contextOverflow(n, ctx):
            return "the prompt has \(n) tokens but the context holds \(ctx)"
        case .noChatTemplate(let model):
            return "\(model) has no chat template: give one (chat_template) or send plain prompts"
        case .badOptions(let why): return why
        case .emptyPrompt: return "the prompt is empty"
        }
    }
}
