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

/// The process-wide cache of loaded image models, keyed by resolved model folder: every copy
/// of `encoder.image` and `head.imagenet` naming the same model shares one set of weights,
/// loaded once even when several copies start at the same moment.
public enum SharedImageModels {
    private final class Slot: Sendable {
        let model = Mutex<ImageModel?>(nil)
    }

    private static let slots = Mutex<[String: Slot]>([:])
    private static let loadCount = Atomic<Int>(0)

    /// How many times an image model was read from disk in this process (for tests).
    public static var loads: Int { loadCount.load(ordering: .relaxed) }

    /// The model in the folder at `path`, loading it on first use.
    static func model(at path: String) throws -> ImageModel {
        let key = URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path
        let slot = slots.withLock { slots in
            if let slot = slots[key] { return slot }
            let slot = Slot()
            slots[key] = slot
            return slot
        }
        return try slot.model.withLock { cached in
            if let cached { return cached }
            let model = try ImageModel(folder: key)
            loadCount.add(1, ordering: .relaxed)
            cached = model
            return model
        }
    }

    /// The model named by a node's `model:` option, with load failures as a node error.
    static func load(_ option: String) throws -> ImageModel {
        do {
            return try model(at: try ModelLocator.resolve(option))
        } catch let error as NodeError {
            throw error
        } catch {
            throw NodeError("cannot load model '\(option)': \(error)")
        }
    }
}
