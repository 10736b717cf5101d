import Foundation
import PipelineTensor

/// Several tasks on one EfficientNet-Lite0 with singular-value adapters (docs/multitask.md):
/// the weights file (`scripts/train-multitask`'s `multitask.safetensors`) holds, for each of the
/// adapted pointwise convolutions, a shared warp and one warp per task of its singular values,
/// and each task's decoder. At load every adapted matrix `W = U·diag(σ)·Vᵀ` (the backbone's
/// own weights) is decomposed once and rebuilt per task as `U·diag(σ_max·f_t(f_s(σ/σ_max)))·Vᵀ`,
/// so each task runs a plain EfficientNet with those weights (`EfficientNetModel(replacing:)`):
/// the frozen trunk (blocks before `split`) once per image, the adapted region (blocks from
/// `split`, and the head) once per task.
///
/// Immutable after load, so one instance serves any number of threads.
public final class MultitaskModel: Sendable {
    public static let tasks = ["segment", "depth", "count"]

    /// The segmentation classes (index = channel of the logits), e.g. background, cube, …
    public let classes: [String]
    /// Count logits are for 1…`counts` objects.
    public let counts: Int
    /// The input side the decoders were trained at (images are stretched to it).
    public let size: Int
    public let weightsPath: String

    let split: Int
    let trunkTaps: [Int]
    let base: EfficientNetModel
    let adapted: [EfficientNetModel]
    let segment: DenseDecoder
    let depth: DenseDecoder
    let count: CountDecoder
    let depthMean: Float
    let depthStd: Float

    /// What one image gives: segmentation logits `[classes][rows][columns]` and depth in metres
    /// `[rows][columns]` on the decoder grid (a quarter of the input side), count logits.
    public struct Output: Sendable {
        public var rows: Int
        public var columns: Int
        public var segment: [Float]
        public var depth: [Float]
        public var count: [Float]

        /// The most likely class of each cell, `[rows][columns]`.
        public var classMap: [Int] {
            let plane = rows * columns, k = segment.count / max(1, plane)
            return (0..<plane).map { p in (0..<k).max { segment[$0 * plane + p] < segment[$1 * plane + p] }! }
        }

        /// The most likely number of objects (1-based).
        public var objects: Int { count.indices.max { count[$0] < count[$1] }! + 1 }
    }

    /// Loads the task weights at `weights` on the backbone file `backbone` (EfficientNet-Lite0's
    /// `model.safetensors`). Every tensor's shape is checked against what the backbone gives;
    /// a mismatch names the tensor, its shape and the expected one.
    public init(weights: String, backbone: String) throws {
        let file = try SafetensorsFile(path: weights)
        let meta = file.metadata
        func bad(_ reason: String) -> MultitaskError { .badWeights(path: weights, reason: reason) }
        guard let knots = Int(meta["knots"] ?? ""), knots > 0, let split = Int(meta["split"] ?? ""),
            let size = Int(meta["size"] ?? ""), size >= 32, let counts = Int(meta["counts"] ?? ""), counts > 0
        else {
            throw bad("metadata needs knots, split, size, counts (scripts/train-multitask writes them)")
        }
        let taps = (meta["trunk_taps"] ?? "").split(separator: ",").compactMap { Int($0) }
        let classes = (meta["classes"] ?? "").split(separator: ",").map(String.init)
        guard taps.count == 3, classes.count >= 2, meta["tasks"] == Self.tasks.joined(separator: ",") else {
            throw bad("metadata: trunk_taps \(meta["trunk_taps"] ?? "none"), classes \(meta["classes"] ?? "none"), tasks \(meta["tasks"] ?? "none")")
        }
        let config = EfficientNetConfig.lite0
        let blocks = config.blocks
        guard taps[0] < taps[1], taps[1] < taps[2], taps[2] == split - 1, split < blocks.count else {
            throw bad("split \(split), trunk_taps \(taps) do not fit \(blocks.count) blocks (the last tap must be block split − 1)")
        }
        self.classes = classes
        self.counts = counts
        self.size = size
        self.split = split
        self.trunkTaps = taps
        self.weightsPath = weights

        let source = try SafetensorsFile(path: backbone)
        base = try EfficientNetModel(path: backbone, config: config)
        var names: [String] = []
        for i in split..<blocks.count {
            if blocks[i].expandRatio != 1 { names.append("_blocks.\(i)._expand_conv.weight") }
            names.append("_blocks.\(i)._project_conv.weight")
        }
        names.append("_conv_head.weight")

        func warpTensor(_ name: String) throws -> [Double] {
            guard let info = file.tensors[name] else { throw bad("\(name) is missing") }
            guard info.shape == [knots] else {
                throw bad("\(name) has shape \(info.shape); \(knots) knots (metadata) need [\(knots)]")
            }
            return try file.floats(name, shape: [knots]).map(Double.init)
        }
        var perTask = [[String: [Float]]](repeating: [:], count: Self.tasks.count)
        for name in names {
            guard let info = source.tensors[name], info.shape.count == 4, info.shape[2] == 1, info.shape[3] == 1 else {
                throw bad("the backbone \(backbone) has no 1x1 convolution \(name)")
            }
            let rows = info.shape[0], cols = info.shape[1]
            let w = try source.floats(name, shape: info.shape).map(Double.init)
            let shared = try warpTensor("warp.shared." + name)
            for (t, task) in Self.tasks.enumerated() {
                let own = try warpTensor("warp.\(task).\(name)")
                let adaptedW = try SingularValues.map(w, rows: rows, cols: cols) { sigma in
                    let top = sigma[0]
                    guard top > 0 else { return sigma }
                    return sigma.map { top * Self.warp(Self.warp($0 / top, shared), own) }
                }
                perTask[t][name] = adaptedW.map(Float.init)
            }
        }
        adapted = try perTask.map { try EfficientNetModel(path: backbone, config: config, replacing: $0) }

        let channels = [blocks[taps[0]].outChannels, blocks[taps[1]].outChannels, blocks[taps[2]].outChannels, config.headChannels]
        segment = try DenseDecoder(file, prefix: "segment.", inputs: channels, outputs: classes.count, bad: bad)
        depth = try DenseDecoder(file, prefix: "depth.", inputs: channels, outputs: 1, bad: bad)
        count = try CountDecoder(file, prefix: "count.", inputs: config.headChannels, outputs: counts, bad: bad)
        guard file.tensors["depth.normalization"]?.shape == [2] else {
            throw bad("depth.normalization has shape \(file.tensors["depth.normalization"]?.shape ?? []); expected [2] (mean, std)")
        }
        let norm = try file.floats("depth.normalization", shape: [2])
        depthMean = norm[0]
        depthStd = norm[1]
    }

    /// A monotone piecewise-linear map of [0, 1] (linear past 1): `θ.count` equal pieces with
    /// slopes `exp(θ_k)`, f(0) = 0 (scripts/multitask/common.py's `warp`).
    static func warp(_ x: Double, _ theta: [Double]) -> Double {
        let k = theta.count
        var y = 0.0
        for j in 0..<k {
            let start = Double(j) / Double(k)
            var piece = max(x - start, 0)
            if j < k - 1 { piece = min(piece, 1 / Double(k)) }
            y += piece * exp(theta[j])
        }
        return y
    }

    /// Runs every task on one image given as `[3][height][width]`, normalised `(x − 127) / 128`
    /// at `size` x `size`.
    public func run(_ input: [Float], height: Int, width: Int) throws -> Output {
        guard height == size, width == size else {
            throw EfficientNetError.badInput(reason: "the decoders were trained at \(size) x \(size), got \(width) x \(height)")
        }
        let trunk = try base.featureMaps(input, height: height, width: width, taps: trunkTaps)
        let f4 = trunk[trunkTaps[0]]!, f8 = trunk[trunkTaps[1]]!, f16 = trunk[trunkTaps[2]]!
        let head = base.config.blocks.count
        let heads = try adapted.map { try $0.featureMaps(continuing: f16, after: split - 1, taps: [head])[head]! }
        let seg = try segment([f4, f8, f16, heads[0]])
        var dep = try depth([f4, f8, f16, heads[1]])
        for i in dep.indices { dep[i] = dep[i] * depthStd + depthMean }
        let cnt = count(heads[2])
        return Output(rows: f4.height, columns: f4.width, segment: seg, depth: dep, count: cnt)
    }
}

/// Why a multi-task model could not be loaded.
public enum MultitaskError: Error, Sendable, Equatable, CustomStringConvertible {
    case badWeights(path: String, reason: String)

    public var description: String {
        switch self {
        case let .badWeights(path, reason): return "\(path): \(reason)"
        }
    }
}

/// A 1x1 convolution `[out][in]` with bias on `[in][pixels]` maps.
struct PointwiseLayer: Sendable {
    let weight: [Float]
    let bias: [Float]
    let outputs: Int
    let inputs: Int

    init(_ file: SafetensorsFile, _ name: String, inputs: Int, outputs: Int?, conv: Bool, bad: (String) -> MultitaskError) throws {
        guard let info = file.tensors[name + ".weight"] else { throw bad("\(name).weight is missing") }
        let out = outputs ?? info.shape.first ?? 0
        let expected = conv ? [out, inputs, 1, 1] : [out, inputs]
        guard info.shape == expected else {
            throw bad("\(name).weight has shape \(info.shape); the backbone and tasks need \(expected)")
        }
        guard file.tensors[name + ".bias"]?.shape == [out] else {
            throw bad("\(name).bias has shape \(file.tensors[name + ".bias"]?.shape ?? []); expected [\(out)]")
        }
        weight = try file.floats(name + ".weight", shape: expected)
        bias = try file.floats(name + ".bias", shape: [out])
        self.outputs = out
        self.inputs = inputs
    }

    /// `[outputs][pixels]` for `x` = `[inputs][pixels]`, ReLU after when asked.
    func callAsFunction(_ x: [Float], pixels: Int, relu: Bool = false) -> [Float] {
        var y = [Float](repeating: 0, count: outputs * pixels)
        for o in 0..<outputs {
            for p in 0..<pixels { y[o * pixels + p] = bias[o] }
        }
        x.withUnsafeBufferPointer { xb in
            weight.withUnsafeBufferPointer { wb in
                y.withUnsafeMutableBufferPointer { yb in
                    BLAS.gemm(
                        m: outputs, n: pixels, k: inputs, a: wb.baseAddress!, lda: inputs, b: xb.baseAddress!, ldb: pixels, beta: 1,
                        c: yb.baseAddress!, ldc: pixels)
                }
            }
        }
        if relu { for i in y.indices { y[i] = max(y[i], 0) } }
        return y
    }
}

/// scripts/multitask/common.py's `DenseDecoder`: a 1x1 projection of each of four maps, nearest
/// upsampling to the first map's grid, sum, ReLU, 1x1, ReLU, 1x1.
struct DenseDecoder: Sendable {
    let projections: [PointwiseLayer]
    let mix: PointwiseLayer
    let out: PointwiseLayer

    init(_ file: SafetensorsFile, prefix: String, inputs: [Int], outputs: Int, bad: (String) -> MultitaskError) throws {
        guard let width = file.tensors[prefix + "mix.weight"]?.shape.first else { throw bad("\(prefix)mix.weight is missing") }
        projections = try zip(["p4", "p8", "p16", "p32"], inputs).map { name, channels in
            try PointwiseLayer(file, prefix + name, inputs: channels, outputs: width, conv: true, bad: bad)
        }
        mix = try PointwiseLayer(file, prefix + "mix", inputs: width, outputs: width, conv: true, bad: bad)
        out = try PointwiseLayer(file, prefix + "out", inputs: width, outputs: outputs, conv: true, bad: bad)
    }

    func callAsFunction(_ maps: [EfficientNetMap]) throws -> [Float] {
        let rows = maps[0].height, columns = maps[0].width, pixels = rows * columns
        let width = mix.inputs
        var sum = [Float](repeating: 0, count: width * pixels)
        for (map, layer) in zip(maps, projections) {
            let factor = rows / map.height
            guard map.height * factor == rows, map.width * factor == columns else {
                throw EfficientNetError.badInput(reason: "a \(map.height) x \(map.width) map does not divide the \(rows) x \(columns) grid")
            }
            let small = layer(map.data, pixels: map.height * map.width)
            for c in 0..<width {
                for y in 0..<rows {
                    for x in 0..<columns {
                        sum[c * pixels + y * columns + x] += small[(c * map.height + y / factor) * map.width + x / factor]
                    }
                }
            }
        }
        for i in sum.indices { sum[i] = max(sum[i], 0) }
        return out(mix(sum, pixels: pixels, relu: true), pixels: pixels)
    }
}

/// scripts/multitask/common.py's `CountDecoder`: the map's mean, 1280 -> 64, ReLU, -> counts.
struct CountDecoder: Sendable {
    let fc1: PointwiseLayer
    let fc2: PointwiseLayer

    init(_ file: SafetensorsFile, prefix: String, inputs: Int, outputs: Int, bad: (String) -> MultitaskError) throws {
        fc1 = try PointwiseLayer(file, prefix + "fc1", inputs: inputs, outputs: nil, conv: false, bad: bad)
        fc2 = try PointwiseLayer(file, prefix + "fc2", inputs: fc1.outputs, outputs: outputs, conv: false, bad: bad)
    }

    func callAsFunction(_ map: EfficientNetMap) -> [Float] {
        let plane = map.height * map.width
        var mean = [Float](repeating: 0, count: map.channels)
        for c in 0..<map.channels {
            var s: Float = 0
            for p in 0..<plane { s += map.data[c * plane + p] }
            mean[c] = s / Float(plane)
        }
        return fc2(fc1(mean, pixels: 1, relu: true), pixels: 1)
    }
}
