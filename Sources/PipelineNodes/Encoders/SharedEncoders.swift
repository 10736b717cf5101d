import Foundation
import PipelineCore
import PipelineModels
import Synchronization

/// A process-wide cache of loaded models of one kind, keyed by resolved model folder: every
/// node copy (and every node) naming the same model shares one set of weights, and a model is
/// loaded once even when N copies start at the same moment. Each model has its own lock, so
/// loading one does not hold up another.
final class ModelCache<Model: Sendable>: Sendable {
    private final class Slot: Sendable {
        let model = Mutex<Model?>(nil)
    }

    private let slots = Mutex<[String: Slot]>([:])
    private let loadCount = Atomic<Int>(0)

    /// How many times a model was read from disk in this process (for tests).
    var loads: Int { loadCount.load(ordering: .relaxed) }

    /// The model for the folder at `path`, made by `load(resolvedPath)` on first use;
    /// `variant` tells apart models made from the same folder in different ways (precision).
    func model(at path: String, variant: String = "", load: (String) throws -> Model) throws -> Model {
        let folder = URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path
        let key = variant.isEmpty ? folder : folder + "#" + variant
        let slot = slots.withLock { slots in
            if let slot = slots[key] { return slot }
            let slot = Slot()
            slots[key] = slot
            return slot
        }
        return try slot.model.withLock { cached in
            if let cached { return cached }
            let model = try load(folder)
            loadCount.add(1, ordering: .relaxed)
            cached = model
            return model
        }
    }

    /// The model named by a node's `model:` option, with load failures as a node error.
    func load(_ option: String, _ make: (String) throws -> Model) throws -> Model {
        do {
            return try model(at: try ModelLocator.resolve(option), load: make)
        } catch let error as NodeError {
            throw error
        } catch {
            throw NodeError("cannot load model '\(option)': \(error)")
        }
    }
}

/// The shared text encoders.
public enum SharedEncoders {
    static let cache = ModelCache<SentenceEncoder>()

    /// How many times a text encoder was read from disk in this process (for tests).
    public static var loads: Int { cache.loads }

    /// The encoder for the model folder at `path` computing in `precision`, loading it on
    /// first use.
    public static func encoder(at path: String, precision: LinearPrecision = .bfloat16) throws -> SentenceEncoder {
        try cache.model(at: path, variant: precision.rawValue) { try SentenceEncoder(folder: $0, precision: precision) }
    }

    /// The `precision` option of the text-encoder nodes.
    static let precisionOption = OptionSpec(
        "precision", .choice(LinearPrecision.allCases.map(\.rawValue)), default: .string(LinearPrecision.bfloat16.rawValue),
        doc: "the linear layers' arithmetic: bfloat16 (inputs and weights rounded to bfloat16, float32 sums; "
            + "only on a CPU with AVX512_BF16, float32 elsewhere; about twice the rate, cosine >= 0.9999 to float32) "
            + "or float32 (sentence-transformers' arithmetic)")

    /// The precision a node's options ask for.
    static func precision(_ options: Options) -> LinearPrecision {
        options.string("precision").flatMap(LinearPrecision.init(rawValue:)) ?? .bfloat16
    }
}

/// Finds a model named by a node's `model:` option: a path (anything with a `/`, or that
/// exists as given), or else a name in the model folder
/// (`$PIPELINE_MODELS`, by default `~/.cache/pipeline/models`, filled by scripts/fetch-models).
enum ModelLocator {
    static var folder: String {
        ProcessInfo.processInfo.environment["PIPELINE_MODELS"]
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/pipeline/models").path
    }

    static func resolve(_ model: String) throws -> String {
        var isDirectory: ObjCBool = false
        let expanded = (model as NSString).expandingTildeInPath
        if model.contains("/") || FileManager.default.fileExists(atPath: expanded, isDirectory: &isDirectory) {
            guard FileManager.default.fileExists(atPath: expanded, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw NodeError("model folder \(model) does not exist")
            }
            return expanded
        }
        let path = folder + "/" + model
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            let known = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
                .filter { !$0.hasPrefix(".") }.sorted()
            throw NodeError(
                "model '\(model)' is not in \(folder) (run scripts/fetch-models)"
                    + (known.isEmpty ? "" : "; there: " + known.joined(separator: ", ")))
        }
        return path
    }
}
