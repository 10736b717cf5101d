import Foundation
import PipelineMedia
import Testing

@testable import PipelineModels

/// The goldens of scripts/encoder-reference/vit-goldens.py: a small torchvision
/// `VisionTransformer` with random weights and its outputs on four images.
struct ViTGolden: Decodable {
    struct Case: Decodable {
        let name: String
        let image: String
        let height: Int
        let width: Int
        let feature: [Float]
        let logits: [Float]
        let tokens: [Float]
    }

    let cases: [Case]

    static var folder: String { goldenFolder + "/vit" }
    static var weights: String { folder + "/model.safetensors" }

    static func load() throws -> ViTGolden {
        try JSONDecoder().decode(ViTGolden.self, from: Data(contentsOf: URL(fileURLWithPath: folder + "/golden.json")))
    }

    /// A golden's PNG as RGB (gray replicated), `(x / 255 − mean) / std` with ImageNet's values, CHW.
    static func input(_ c: Case) throws -> [Float] {
        let image = try ImageDecoder.decode(path: folder + "/" + c.image, options: ImageDecodeOptions(channels: .rgb))
        #expect(image.width == c.width && image.height == c.height)
        return try ImageTensor(image: image).data
    }
}

/// Largest absolute difference of two equally long sequences.
func maxDifference<A: Collection<Float>, B: Collection<Float>>(_ a: A, _ b: B) -> Float {
    guard a.count == b.count else { return .infinity }
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

@Suite("ViT against torchvision (random weights)")
struct ViTParityTests {
    /// Outputs agree with torchvision within this (max abs); measured about 2e-6.
    static let tolerance: Float = 1e-4

    @Test("the configuration is read off the tensor shapes and the metadata")
    func config() throws {
        let model = try ViTModel(path: ViTGolden.weights)
        #expect(
            model.config
                == ViTConfig(patchSize: 16, imageSize: 64, width: 96, layers: 3, heads: 3, mlpWidth: 384, classes: 10))
    }

    @Test("feature, logits and patch tokens within 1e-4 of torchvision: native size, 96², gray, 64x96")
    func parity() throws {
        let model = try ViTModel(path: ViTGolden.weights)
        let golden = try ViTGolden.load()
        #expect(Set(golden.cases.map(\.name)) == ["native", "large", "gray", "wide"])
        for c in golden.cases {
            let out = try model.forward(try ViTGolden.input(c), images: 1, height: c.height, width: c.width)
            #expect(out.gridHeight == c.height / 16 && out.gridWidth == c.width / 16)
            let diffs = (
                maxDifference(out.feature(0), c.feature), maxDifference(try #require(out.logits(0)), c.logits),
                maxDifference(out.tokens(0), c.tokens)
            )
            print("ViT \(c.name) \(c.width)x\(c.height): max diff feature \(diffs.0), logits \(diffs.1), tokens \(diffs.2)")
            #expect(diffs.0 <= Self.tolerance && diffs.1 <= Self.tolerance && diffs.2 <= Self.tolerance, "\(c.name)")
        }
    }

    @Test("a batch gives what each image gives alone")
    func batch() throws {
        let model = try ViTModel(path: ViTGolden.weights)
        let cases = try ViTGolden.load().cases.filter { $0.height == 64 && $0.width == 64 }
        #expect(cases.count == 2)
        let inputs = try cases.map(ViTGolden.input)
        let together = try model.forward(inputs.flatMap { $0 }, images: 2, height: 64, width: 64)
        for (i, input) in inputs.enumerated() {
            let alone = try model.forward(input, images: 1, height: 64, width: 64)
            #expect(maxDifference(together.feature(i), alone.feature(0)) <= 1e-5)
            #expect(maxDifference(together.tokens(i), alone.tokens(0)) <= 1e-5)
            #expect(maxDifference(try #require(together.logits(i)), try #require(alone.logits(0))) <= 1e-5)
        }
    }

    @Test("position embeddings at the native grid are used as stored; bicubic weights sum to 1")
    func positions() {
        let grid = (0..<(4 * 4 * 2)).map { Float($0) }
        #expect(ViTPositions.resize(grid[...], grid: 4, width: 2, rows: 4, cols: 4) == grid)
        for t: Float in [0, 0.25, 0.5, 0.9] {
            #expect(abs(ViTPositions.cubicWeights(t).reduce(0, +) - 1) < 1e-6)
        }
        // 4 → 7 with align_corners: every other output lands on a source column (copied), and
        // where all four taps are inside, a linear ramp stays linear (cubic convolution
        // reproduces linear functions); at the edges the repeated border bends it.
        let ramp = (0..<16).map { Float($0 % 4) }
        let wide = ViTPositions.resize(ramp[...], grid: 4, width: 1, rows: 4, cols: 7)
        #expect([wide[0], wide[2], wide[4], wide[6]] == [0, 1, 2, 3])
        #expect(abs(wide[3] - 1.5) < 1e-6 && wide[1] != 0.5)
    }

    @Test("inputs that are not multiples of the patch, or the wrong length, are errors")
    func badInput() throws {
        let model = try ViTModel(path: ViTGolden.weights)
        #expect(throws: ViTError.badInput(reason: "60 x 64 is not a multiple of the 16-pixel patches")) {
            try model.forward([Float](repeating: 0, count: 3 * 64 * 60), images: 1, height: 64, width: 60)
        }
        #expect(throws: ViTError.self) { try model.forward([0, 1], images: 1, height: 64, width: 64) }
        #expect(throws: ViTError.self) { try model.forward([], images: 0, height: 64, width: 64) }
    }

    /// The golden weights rewritten F32 with `change` applied to the tensor list.
    static func variant(
        _ name: String, metadata: [String: String]? = ["num_heads": "3"],
        _ change: (inout [(name: String, shape: [Int], values: [Float])]) -> Void
    ) throws -> String {
        let file = try SafetensorsFile(path: ViTGolden.weights)
        var tensors = try file.tensors.keys.sorted().map { name in
            let info = file.tensors[name]!
            return (name: name, shape: info.shape, values: try file.floats(name, shape: info.shape))
        }
        change(&tensors)
        var header: [String: Any] = [:]
        var data = Data()
        for t in tensors {
            header[t.name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [data.count, data.count + 4 * t.values.count]]
            t.values.withUnsafeBytes { data.append(contentsOf: $0) }
        }
        if let metadata { header["__metadata__"] = metadata }
        let json = try JSONSerialization.data(withJSONObject: header)
        var bytes = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes += json + data
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vit-\(name)-\(getpid()).safetensors").path
        try bytes.write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("missing, misshapen or foreign tensors give an error naming the tensor and the expected shape")
    func badWeights() throws {
        func message(_ path: String) -> String {
            defer { try? FileManager.default.removeItem(atPath: path) }
            do {
                _ = try ViTModel(path: path)
                return "loaded"
            } catch {
                return "\(error)"
            }
        }
        let unchanged = try Self.variant("same") { _ in }
        #expect(message(unchanged) == "loaded")

        let missing = message(try Self.variant("missing") { $0.removeAll { $0.name == "encoder.layers.encoder_layer_1.mlp.3.bias" } })
        #expect(missing.contains("no tensor 'encoder.layers.encoder_layer_1.mlp.3.bias' (expected shape [96])"), "\(missing)")

        let misshapen = message(try Self.variant("misshapen") { tensors in
            let i = tensors.firstIndex { $0.name == "encoder.ln.weight" }!
            tensors[i] = (tensors[i].name, [95], Array(tensors[i].values.prefix(95)))
        })
        #expect(misshapen.contains("tensor 'encoder.ln.weight' has shape [95], expected [96]"), "\(misshapen)")

        let foreign = message(try Self.variant("foreign") { $0.removeAll { $0.name.hasPrefix("conv_proj") } })
        #expect(foreign.contains("no tensor 'conv_proj.weight'") && foreign.contains("not a torchvision VisionTransformer"))

        let noHeads = message(try Self.variant("noheads", metadata: nil) { _ in })
        #expect(noHeads.contains("cannot tell the number of attention heads for width 96"), "\(noHeads)")

        let badGrid = message(try Self.variant("grid") { tensors in
            let i = tensors.firstIndex { $0.name == "encoder.pos_embedding" }!
            tensors[i] = (tensors[i].name, [1, 16, 96], Array(tensors[i].values.prefix(16 * 96)))
        })
        #expect(badGrid.contains("'encoder.pos_embedding' has shape [1, 16, 96], expected [1, 1 + grid², 96]"), "\(badGrid)")

        let noHead = try Self.variant("nohead") { $0.removeAll { $0.name.hasPrefix("heads.") } }
        defer { try? FileManager.default.removeItem(atPath: noHead) }
        let headless = try ViTModel(path: noHead)
        #expect(headless.config.classes == nil)
        #expect(try headless.forward([Float](repeating: 0.5, count: 3 * 64 * 64), images: 1, height: 64, width: 64).logits == nil)
        #expect(message("/nonexistent/vit.safetensors").contains("cannot open"))
    }

    /// torchvision's `vit_b_16` at random weights: 330 MB, so written on demand by
    /// `vit-goldens.py --vit-b16 DIR` and checked only when VIT_B16_DIR names that folder.
    @Test("vit_b_16 shape config within 1e-4 of torchvision", .enabled(if: ProcessInfo.processInfo.environment["VIT_B16_DIR"] != nil))
    func vitB16() throws {
        struct Golden: Decodable {
            let feature: [Float]
            let logits: [Float]
            let tokens: [Float]
        }
        let folder = ProcessInfo.processInfo.environment["VIT_B16_DIR"]!
        let model = try ViTModel(path: folder + "/model.safetensors")
        #expect(
            model.config
                == ViTConfig(patchSize: 16, imageSize: 224, width: 768, layers: 12, heads: 12, mlpWidth: 3072, classes: 1000))
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: URL(fileURLWithPath: folder + "/golden.json")))
        let image = try ImageDecoder.decode(path: folder + "/input.png", options: ImageDecodeOptions(channels: .rgb))
        let out = try model.forward(try ImageTensor(image: image).data, images: 1, height: 224, width: 224)
        let diffs = (
            maxDifference(out.feature(0), golden.feature), maxDifference(try #require(out.logits(0)), golden.logits),
            maxDifference(out.tokens(0).prefix(golden.tokens.count), golden.tokens)
        )
        print("vit_b_16: max diff feature \(diffs.0), logits \(diffs.1), first tokens \(diffs.2)")
        #expect(diffs.0 <= Self.tolerance && diffs.1 <= Self.tolerance && diffs.2 <= Self.tolerance)
    }
}
