import Dispatch
import Foundation
import PipelineCore
import PipelineMedia
import PipelineModels
import Testing

@testable import PipelineNodes

/// The random-weight ViT and torchvision's outputs on it (scripts/encoder-reference/vit-goldens.py).
enum ViTGoldens {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().path
        + "/PipelineModelsTests/Golden/vit"
    static let weights = folder + "/model.safetensors"

    struct Case: Decodable {
        let name: String
        let image: String
        let feature: [Float]
        let logits: [Float]
        let tokens: [Float]
    }

    struct File: Decodable { let cases: [Case] }

    static func named(_ name: String) throws -> Case {
        let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: URL(fileURLWithPath: folder + "/golden.json")))
        return try #require(file.cases.first { $0.name == name })
    }

    /// The case's PNG decoded as `image.decode` does (the gray PNG comes out RGB, replicated;
    /// one-channel images are covered in `oddImages`).
    static func image(_ c: Case) throws -> ImagePayload {
        let path = folder + "/" + c.image
        return ImagePayload(image: try ImageDecoder.decode(path: path, options: ImageDecodeOptions()), path: path)
    }
}

@Suite("encoder.vit", .serialized)
struct ViTEncoderNodeTests {
    /// The node's outputs agree with torchvision within this (max abs), as the model's do.
    static let tolerance: Float = 1e-4

    struct Outputs {
        var embedding: Embedding
        var tokens: TensorPayload
        var logits: [Float]?
    }

    static func outputs(_ emitted: [NodeHarness.Emitted]) throws -> Outputs {
        var embedding: Embedding?, tokens: TensorPayload?, logits: [Float]?
        for e in emitted {
            switch (e.port, e.value) {
            case ("embedding", .payload(let p as Embedding)): embedding = p
            case ("tokens", .payload(let p as TensorPayload)): tokens = p
            case ("logits", .array(let values)): logits = values.compactMap { $0.doubleValue.map(Float.init) }
            default: Issue.record("unexpected \(e.port): \(e.value)")
            }
        }
        return Outputs(embedding: try #require(embedding), tokens: try #require(tokens), logits: logits)
    }

    static func check(_ out: Outputs, against golden: ViTGoldens.Case, patches: Int) {
        #expect(out.tokens.shape == [patches, 96])
        let diffs = [
            maxDifference(out.embedding.vector, golden.feature), maxDifference(out.tokens.data, golden.tokens),
            maxDifference(out.logits ?? [], golden.logits),
        ]
        #expect(diffs.allSatisfy { $0 <= tolerance }, "\(golden.name): \(diffs)")
    }

    @Test("images at the native size, gray, and 96² (image_size: 96) match torchvision within 1e-4")
    func images() throws {
        let node = try NodeHarness(builtin("encoder.vit"), options: ["model": .string(ViTGoldens.weights)])
        for name in ["native", "gray"] {
            let golden = try ViTGoldens.named(name)
            let image = try ViTGoldens.image(golden)
            let out = try Self.outputs(try node.process(.payload(image), item: name))
            Self.check(out, against: golden, patches: 16)
            #expect(out.embedding.model == "vit" && out.embedding.path == image.path && out.tokens.path == image.path)
        }

        let large = try NodeHarness(builtin("encoder.vit"), options: ["model": .string(ViTGoldens.folder), "image_size": 96])
        let golden = try ViTGoldens.named("large")
        Self.check(try Self.outputs(try large.process(.payload(try ViTGoldens.image(golden)))), against: golden, patches: 36)
    }

    @Test("tensors from image.normalize are used at their own size (64x96 matches torchvision)")
    func tensors() throws {
        let normalize = try NodeHarness(builtin("image.normalize"))
        let node = try NodeHarness(builtin("encoder.vit"), options: ["model": .string(ViTGoldens.weights)])
        let wide = try ViTGoldens.named("wide")
        let tensor = try normalize.process(.payload(try ViTGoldens.image(wide)))[0].value
        Self.check(try Self.outputs(try node.process(tensor)), against: wide, patches: 24)

        let native = try ViTGoldens.named("native")
        let fromTensor = try Self.outputs(try node.process(try normalize.process(.payload(try ViTGoldens.image(native)))[0].value))
        let fromImage = try Self.outputs(try node.process(.payload(try ViTGoldens.image(native))))
        #expect(fromTensor.embedding.vector == fromImage.embedding.vector && fromTensor.tokens.data == fromImage.tokens.data)
    }

    @Test("odd sizes and channel counts give defined results; tiles keep their index")
    func oddImages() throws {
        let node = try NodeHarness(builtin("encoder.vit"), options: ["model": .string(ViTGoldens.weights)])
        let gray = Image(width: 50, height: 30, channels: 1, pixels: (0..<1500).map { UInt8($0 % 251) })
        let grayRGB = Image(width: 50, height: 30, channels: 3, pixels: gray.pixels.flatMap { [$0, $0, $0] })
        let a = try Self.outputs(try node.process(.payload(ImagePayload(image: gray))))
        let b = try Self.outputs(try node.process(.payload(ImagePayload(image: grayRGB))))
        #expect(a.embedding.vector == b.embedding.vector && a.tokens.shape == [16, 96])
        for image in [Image(width: 1, height: 1, channels: 3, fill: [200, 10, 10]), Image(width: 333, height: 97, channels: 4, fill: [0, 90, 200, 9])] {
            let out = try Self.outputs(try node.process(.payload(ImagePayload(image: image))))
            #expect(out.embedding.vector.count == 96 && out.embedding.vector.allSatisfy(\.isFinite) && out.logits?.count == 10)
        }
        let tiles = try NodeHarness(builtin("image.tiles"), options: ["tile_size": 32, "max_tiles": 4])
            .process(.payload(try ViTGoldens.image(try ViTGoldens.named("large"))))
        #expect(tiles.count > 1)
        let indices = try tiles.map { try Self.outputs(try node.process($0.value)).embedding.tile }
        #expect(indices == Array(0..<tiles.count).map { Optional($0) })
    }

    @Test("wrong inputs are per-item errors; bad options and weights fail at start with the reason")
    func errors() throws {
        let node = try NodeHarness(builtin("encoder.vit"), options: ["model": .string(ViTGoldens.weights)])
        let bad: [Value] = [
            "a.png", 3, .payload(TensorPayload(shape: [3, 60, 64], data: Array(repeating: 0, count: 3 * 60 * 64))),
            .payload(TensorPayload(shape: [3, 2, 2], data: [1, 2])),
            .payload(ImagePayload(image: Image(width: 0, height: 0, channels: 3, pixels: []))),
        ]
        for value in bad { #expect(throws: NodeError.self) { try node.process(value) } }
        let patch = try #require(throws: NodeError.self) {
            try node.process(.payload(TensorPayload(shape: [3, 60, 64], data: Array(repeating: 0, count: 3 * 60 * 64))))
        }
        #expect(patch.message.contains("not a multiple of the 16-pixel patches"))

        let size = try #require(throws: NodeError.self) {
            try NodeHarness(builtin("encoder.vit"), options: ["model": .string(ViTGoldens.weights), "image_size": 100])
        }
        #expect(size.message.contains("image_size 100 is not a multiple"))
        let missing = try #require(throws: NodeError.self) {
            try NodeHarness(builtin("encoder.vit"), options: ["model": "/nonexistent/vit.safetensors"])
        }
        #expect(missing.message.contains("/nonexistent/vit.safetensors"))
        // A safetensors file of another kind (the golden PNG is not one either).
        let foreign = FileManager.default.temporaryDirectory.appendingPathComponent("not-vit-\(getpid()).safetensors").path
        try Data([2, 0, 0, 0, 0, 0, 0, 0] + Array("{}".utf8)).write(to: URL(fileURLWithPath: foreign))
        defer { try? FileManager.default.removeItem(atPath: foreign) }
        let wrongKind = try #require(throws: NodeError.self) {
            try NodeHarness(builtin("encoder.vit"), options: ["model": .string(foreign)])
        }
        #expect(wrongKind.message.contains("no tensor 'conv_proj.weight'"), "\(wrongKind)")
    }

    @Test("concurrent copies naming the same weights load them once")
    func shared() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vit-shared-\(getpid())").path
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.copyItem(atPath: ViTGoldens.weights, toPath: folder + "/model.safetensors")
        let before = SharedViTModels.loads
        DispatchQueue.concurrentPerform(iterations: 4) { copy in
            _ = try? NodeHarness(
                builtin("encoder.vit"), options: ["model": .string(folder)], context: NodeContext(nodeID: "vit", copy: copy))
        }
        _ = try NodeHarness(builtin("encoder.vit"), options: ["model": .string(folder + "/model.safetensors")])
        #expect(SharedViTModels.loads == before + 1)
    }
}

/// Largest absolute difference of two equally long sequences (infinity when the lengths differ).
private func maxDifference<A: Collection<Float>, B: Collection<Float>>(_ a: A, _ b: B) -> Float {
    guard a.count == b.count else { return .infinity }
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}
