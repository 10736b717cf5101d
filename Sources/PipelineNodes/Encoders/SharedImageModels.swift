import Foundation
import PipelineCore
import PipelineModels
import Synchronization

/// An image classifier as the nodes use it: the network and, when its folder has them, the
/// class names (`imagenet-classes.txt`).
final class ImageModel: Sendable {
    let network: EfficientNetModel
    let names: ClassNames?
    /// The model folder's name (`efficientnet-lite0`), stamped on embeddings.
    let name: String

    init(folder: String) throws {
        network = try EfficientNetModel(path: folder + "/model.safetensors")
        let namesPath = folder + "/imagenet-classes.txt"
        names = FileManager.default.fileExists(atPath: namesPath)
            ? try ClassNames(path: namesPath, count: network.config.classes) : nil
        name = URL(fileURLWithPath: folder).lastPathComponent
    }
}

/// The shared image models: every copy of `encoder.image` and `head.imagenet` naming the
/// same model shares one set of weights.
public enum SharedImageModels {
    static let cache = ModelCache<ImageModel>()

    /// How many times an image model was read from disk in this process (for tests).
    public static var loads: Int { cache.loads }

    /// The model in the folder at `path`, loading it on first use.
    static func model(at path: String) throws -> ImageModel {
        try cache.model(at: path) { try ImageModel(folder: $0) }
    }

    /// The model named by a node's `model:` option, with load failures as a node error.
    static func load(_ option: String) throws -> ImageModel {
        try cache.load(option) { try ImageModel(folder: $0) }
    }
}
