import Foundation
import PipelineMedia
import Testing

@testable import PipelineModels
import PipelineTensor

/// The singular-value-adapted EfficientNet-Lite0 and its task decoders against PyTorch on the
/// shipped weights (pipelines/models/multitask.safetensors): Golden/multitask, written by
/// scripts/multitask/goldens.py from held-out renders.
@Suite("Multi-task heads against PyTorch", .enabled(if: efficientNetAvailable))
struct MultitaskParityTests {
    static var folder: String { goldenFolder + "/multitask" }
    static var weights: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("pipelines/models/multitask.safetensors").path
    }

    static func load() throws -> MultitaskModel {
        let folder = try #require(efficientNetFolder())
        return try MultitaskModel(weights: weights, backbone: folder + "/model.safetensors")
    }

    @Test("segment logits, depth and count logits within 1e-3 on every golden image (≥ 20)")
    func parity() throws {
        let model = try Self.load()
        let goldens = try SafetensorsFile(path: Self.folder + "/goldens.safetensors")
        let names = (goldens.metadata["images"] ?? "").split(separator: ",").map(String.init)
        #expect(names.count >= 20)
        let seg = try #require(goldens.tensors["segment"]), dep = try #require(goldens.tensors["depth"])
        let cnt = try #require(goldens.tensors["count"])
        let segment = try goldens.floats("segment", shape: seg.shape), depth = try goldens.floats("depth", shape: dep.shape)
        let count = try goldens.floats("count", shape: cnt.shape)
        let segSize = seg.elementCount / names.count, depSize = dep.elementCount / names.count, cntSize = cnt.elementCount / names.count
        var worst: (segment: Float, depth: Float, count: Float) = (0, 0, 0)
        var sameClasses = 0, cells = 0
        for (i, name) in names.enumerated() {
            let image = try ImageDecoder.decode(path: Self.folder + "/" + name, options: ImageDecodeOptions(channels: .rgb))
            let input = try ImageTensor(image: image, mean: [127], std: [128], scale: 1).data
            let out = try model.run(input, height: image.height, width: image.width)
            let s = Array(segment[i * segSize..<(i + 1) * segSize]), d = Array(depth[i * depSize..<(i + 1) * depSize])
            let c = Array(count[i * cntSize..<(i + 1) * cntSize])
            #expect(out.segment.count == s.count && out.depth.count == d.count && out.count.count == c.count)
            worst.segment = max(worst.segment, maxDifference(out.segment, s))
            worst.depth = max(worst.depth, maxDifference(out.depth, d))
            worst.count = max(worst.count, maxDifference(out.count, c))
            var reference = out
            reference.segment = s
            sameClasses += zip(out.classMap, reference.classMap).filter { $0 == $1 }.count
            cells += out.rows * out.columns
        }
        print("multitask parity on \(names.count) images: max |ours − PyTorch| segment \(worst.segment), depth \(worst.depth) m, count \(worst.count); argmax classes agree on \(sameClasses)/\(cells) cells")
        #expect(worst.segment <= 1e-3 && worst.depth <= 1e-3 && worst.count <= 1e-3)
    }

    @Test("weights whose shapes do not match the backbone are a load error naming both shapes")
    func badShapes() throws {
        let folder = try #require(efficientNetFolder())
        let file = try SafetensorsFile(path: Self.weights)
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("multitask-bad-\(getpid())")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        // The stride-16 projection written for 100 input channels where block 10 gives 112.
        var tensors: [String: (shape: [Int], data: [Float])] = [:]
        for (name, info) in file.tensors { tensors[name] = (info.shape, try file.floats(name, shape: info.shape)) }
        let width = tensors["segment.p16.weight"]!.shape[0]
        tensors["segment.p16.weight"] = ([width, 100, 1, 1], [Float](repeating: 0.01, count: width * 100))
        let bad = tmp.appendingPathComponent("bad.safetensors").path
        try writeSafetensors(tensors, metadata: file.metadata, to: bad)
        let error = try #require(throws: MultitaskError.self) { try MultitaskModel(weights: bad, backbone: folder + "/model.safetensors") }
        #expect(error.description.contains("segment.p16.weight") && error.description.contains("[\(width), 100, 1, 1]")
            && error.description.contains("[\(width), 112, 1, 1]"), "\(error)")
        // A warp with the wrong number of knots.
        tensors = [:]
        for (name, info) in file.tensors { tensors[name] = (info.shape, try file.floats(name, shape: info.shape)) }
        tensors["warp.depth._conv_head.weight"] = ([3], [0, 0, 0])
        try writeSafetensors(tensors, metadata: file.metadata, to: bad)
        let warp = try #require(throws: MultitaskError.self) { try MultitaskModel(weights: bad, backbone: folder + "/model.safetensors") }
        #expect(warp.description.contains("warp.depth._conv_head.weight") && warp.description.contains("[3]"), "\(warp)")
    }

    @Test("a zero warp (θ = 0) is the identity, and rebuilding a matrix from its SVD is exact")
    func identityWarp() throws {
        #expect(MultitaskModel.warp(0.37, [0, 0, 0, 0]) == 0.37)
        #expect(abs(MultitaskModel.warp(1.5, [0, 0, 0, 0]) - 1.5) < 1e-12)
        let a = (0..<12).map { Double($0 % 5) - 1.5 + Double($0) * 0.1 }
        let same = try SingularValues.map(a, rows: 3, cols: 4) { $0 }
        #expect(zip(a, same).allSatisfy { abs($0 - $1) < 1e-12 })
        let doubled = try SingularValues.map(a, rows: 4, cols: 3) { $0.map { 2 * $0 } }
        #expect(zip(a, doubled).allSatisfy { abs(2 * $0 - $1) < 1e-12 })
    }
}

/// Writes float32 tensors as a safetensors file (names sorted).
func writeSafetensors(_ tensors: [String: (shape: [Int], data: [Float])], metadata: [String: String], to path: String) throws {
    var header: [String: Any] = ["__metadata__": metadata]
    var blob = Data()
    for name in tensors.keys.sorted() {
        let t = tensors[name]!
        let start = blob.count
        t.data.withUnsafeBufferPointer { blob.append(Data(buffer: $0)) }
        header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [start, blob.count]]
    }
    var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
    while json.count % 8 != 0 { json.append(0x20) }
    var out = Data()
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
    out.append(json)
    out.append(blob)
    try out.write(to: URL(fileURLWithPath: path))
}
