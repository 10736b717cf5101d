import Foundation
import PipelineCore
import PipelineModels

/// A ViT as the nodes use it: the network and the name stamped on its embeddings.
final class ViTNetwork: Sendable {
    let model: ViTModel
    /// The model folder's name, or the file's name without `.safetensors`.
    let name: String

    init(file: String) throws {
        model = try ViTModel(path: file)
        let url = URL(fileURLWithPath: file)
        name = url.lastPathComponent == "model.safetensors"
            ? url.deletingLastPathComponent().lastPathComponent : url.deletingPathExtension().lastPathComponent
    }
}

/// The shared ViTs: every copy of `encoder.vit` naming the same weights shares one load.
public enum SharedViTModels {
    static let cache = ModelCache<ViTNetwork>()

    /// How many times a ViT was read from disk in this process (for tests).
    public static var loads: Int { cache.loads }

    /// The ViT named by a node's `model:` option: a `.safetensors` file, or a folder (a name
    /// in the model folder or a path) holding `model.safetensors`.
    static func load(_ option: String) throws -> ViTNetwork {
        let expanded = (option as NSString).expandingTildeInPath
        let file: String
        if option.hasSuffix(".safetensors") {
            guard FileManager.default.fileExists(atPath: expanded) else { throw NodeError("model file \(option) does not exist") }
            file = expanded
        } else {
            file = try ModelLocator.resolve(option) + "/model.safetensors"
        }
        // Keyed by the file, so a folder and its model.safetensors share one load.
        do {
            return try cache.model(at: file) { try ViTNetwork(file: $0) }
        } catch {
            throw NodeError("cannot load model '\(option)': \(error)")
        }
    }
}
