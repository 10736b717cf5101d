import Foundation
import PipelineCore
import PipelineMedia
import PipelineModels

/// Several tasks on one EfficientNet-Lite0 with singular-value adapters (docs/multitask.md):
/// shape-class segmentation, depth and object count of a rendered scene, one record per task.
/// The segmentation mask (class colours) and the depth map (8-bit gray, 0 = 0 m, 255 =
/// `far` metres) are written as PNGs at the input side (cells repeated), the count is a number.
///
/// The weights (`scripts/train-multitask`'s `multitask.safetensors`) hold only the warps of
/// the singular values and the decoders; the adapted weights are made from the backbone's own
/// at load (one SVD per adapted matrix) and kept per task.
final class MultitaskHead: PipelineNode, FilePublisher {
    static let type = "head.multitask"
    static let summary = "Segments shapes, estimates depth and counts objects in a scene image (singular-value adapters on EfficientNet-Lite0)."
    static let inputs = [PortSpec("image", .any, doc: "an image (stretched to the trained side, 128 x 128), or a prepared [3, h, w] tensor")]
    static let outputs = [
        PortSpec("record", .json,
            doc: "one per task: {item, task: segment, path, classes, shares}, {item, task: depth, path, min, max, mean}, {item, task: count, count, probability}")
    ]
    static let options = [
        OptionSpec("weights", .string, default: "models/multitask.safetensors",
            doc: "the task weights: a path (relative to the pipeline file, else to the working directory) or a file name in the model folder"),
        OptionSpec("model", .string, default: "efficientnet-lite0", doc: "the backbone: a name in the model folder, or a path to one"),
        OptionSpec("dir", .string, required: true, doc: "where the mask and depth PNGs go (created if missing)"),
        OptionSpec("name", .string, default: "{stem}", doc: "file name stem template (-segment.png, -depth.png added): " + MediaFileName.tokens),
        OptionSpec("far", .double, default: 30, range: 0.1...10000, doc: "the depth that maps to white in the depth PNG, in metres"),
    ]
    static let example = """
        - id: tasks
          type: head.multitask
          inputs: { image: decode.image }
          with: { weights: models/multitask.safetensors, dir: out/tasks }
        """

    /// The mask PNG's colour per class (class 0 black; then red, green, blue, yellow, …).
    static let palette: [[UInt8]] = [[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [255, 0, 255], [0, 255, 255]]

    private let model: MultitaskModel
    private let dir: String
    private let template: String
    private let far: Double

    init(options: Options, context: NodeContext) throws {
        let weights = FusionNodeSupport.path(options.string("weights")!, context)
        let backbone = try ModelLocator.resolve(options.string("model")!) + "/model.safetensors"
        model = try SharedMultitaskModels.load(weights: weights, backbone: backbone)
        dir = options.string("dir")!
        template = options.string("name")!
        far = options.double("far")!
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        guard let packet = input.packet(at: 0) else { return }
        let image = try ImageInput.from(input.value, size: model.size)
        let out: MultitaskModel.Output
        do {
            out = try model.run(image.data, height: image.height, width: image.width)
        } catch {
            throw NodeError((image.path.map { "\($0): " } ?? "") + "\(error)")
        }
        let stem = try MediaFileName.path(template, dir: dir, packet: packet)
        let item: Value = .string(packet.item.id)
        let scale = max(1, image.height / out.rows)
        let plane = out.rows * out.columns

        // Segmentation: class colours, and each class's share of the cells.
        let classes = out.classMap
        var mask = [UInt8](repeating: 0, count: plane * 3)
        var cells = [Int](repeating: 0, count: model.classes.count)
        for (p, k) in classes.enumerated() {
            cells[k] += 1
            let rgb = Self.palette[k % Self.palette.count]
            for c in 0..<3 { mask[p * 3 + c] = rgb[c] }
        }
        let maskPath = stem + "-segment.png"
        try write(mask, channels: 3, rows: out.rows, columns: out.columns, scale: scale, to: maskPath)
        output.published(maskPath)
        var shares: [String: Value] = [:]
        for (k, name) in model.classes.enumerated() { shares[name] = .double(Double(cells[k]) / Double(plane)) }
        try output.emit(.object([
            "item": item, "task": "segment", "path": .string(maskPath),
            "classes": .array(model.classes.map { .string($0) }), "shares": .object(shares),
        ]))

        // Depth: 8-bit gray over 0…far metres.
        let gray = out.depth.map { UInt8(max(0, min(255, (Double($0) / far * 255).rounded()))) }
        let depthPath = stem + "-depth.png"
        try write(gray, channels: 1, rows: out.rows, columns: out.columns, scale: scale, to: depthPath)
        output.published(depthPath)
        let mean = out.depth.reduce(0, +) / Float(max(1, plane))
        try output.emit(.object([
            "item": item, "task": "depth", "path": .string(depthPath), "min": .double(Double(out.depth.min() ?? 0)),
            "max": .double(Double(out.depth.max() ?? 0)), "mean": .double(Double(mean)),
        ]))

        // Count: the most likely number and its softmax probability.
        let top = out.count.max() ?? 0
        let exps = out.count.map { exp(Double($0 - top)) }
        let probability = 1 / exps.reduce(0, +)
        try output.emit(.object(["item": item, "task": "count", "count": .int(out.objects), "probability": .double(probability)]))
    }

    /// Writes a `[rows][columns][channels]` grid as a PNG with each cell `scale` x `scale` pixels.
    private func write(_ grid: [UInt8], channels: Int, rows: Int, columns: Int, scale: Int, to path: String) throws {
        let width = columns * scale, height = rows * scale
        var pixels = [UInt8](repeating: 0, count: width * height * channels)
        for y in 0..<height {
            for x in 0..<width {
                let src = ((y / scale) * columns + x / scale) * channels, dst = (y * width + x) * channels
                for c in 0..<channels { pixels[dst + c] = grid[src + c] }
            }
        }
        let png = try ImageWriter.encode(Image(width: width, height: height, channels: channels, pixels: pixels), format: .png)
        try AtomicFile.write(png, to: path)
    }

    static func publishedPaths(_ options: Options) -> [(path: String, isDirectory: Bool)] {
        [(options.string("dir")!, true)]
    }
}

/// Every `head.multitask` copy naming the same weights and backbone shares one loaded model.
enum SharedMultitaskModels {
    static let cache = ModelCache<MultitaskModel>()

    static func load(weights: String, backbone: String) throws -> MultitaskModel {
        do {
            return try cache.model(at: weights) { _ in try MultitaskModel(weights: weights, backbone: backbone) }
        } catch let error as NodeError {
            throw error
        } catch {
            throw NodeError("\(error)")
        }
    }
}
