import Foundation
import PipelineCore
import PipelineMedia
import PipelineModels
import Testing

@testable import PipelineNodes

/// The EfficientNet-Lite0 folder, when present (CI fetches it: scripts/setup runs scripts/fetch-models).
let efficientNetPresent = FileManager.default.fileExists(
    atPath: ModelLocator.folder + "/efficientnet-lite0/model.safetensors") || ProcessInfo.processInfo.environment["CI"] != nil

/// A golden input of the model tests (224x224 PNG) decoded as `image.decode` does.
func goldenImage(_ name: String) throws -> ImagePayload {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().path
    let path = root + "/PipelineModelsTests/Golden/efficientnet/images/\(name).png"
    return ImagePayload(image: try ImageDecoder.decode(path: path, options: ImageDecodeOptions(channels: .rgb)), path: path)
}

@Suite("encoder.image and head.imagenet", .serialized, .enabled(if: efficientNetPresent))
struct ImageEncoderNodeTests {
    static func embedding(_ value: Value?) -> Embedding? {
        if case .payload(let p as Embedding)? = value { return p }
        return nil
    }

    @Test("an image gives a 1280-d embedding; head.imagenet gives the golden top-1 from the image or the embedding")
    func embedsAndLabels() throws {
        let image = try goldenImage("sierpinski")
        let out = try NodeHarness(builtin("encoder.image")).process(.payload(image), item: "s")
        let embedding = try #require(Self.embedding(out.first?.value))
        #expect(out.count == 2 && out[0].port == "embedding" && out[0].item == "s" && out[1].port == "tokens")
        #expect(embedding.vector.count == 1280 && embedding.model == "efficientnet-lite0" && embedding.path == image.path)
        #expect(embedding.vector.allSatisfy { $0.isFinite && $0 >= 0 && $0 <= 6 })
        // The tokens are the 7 x 7 map the embedding pools: their mean is the embedding.
        let tokens = try #require(out[1].value.tensorPayload)
        #expect(tokens.shape == [49, 1280] && tokens.path == image.path)
        let mean = (0..<1280).map { c in (0..<49).reduce(Float(0)) { $0 + tokens.data[$1 * 1280 + c] } / 49 }
        #expect(zip(mean, embedding.vector).allSatisfy { abs($0 - $1) <= 1e-5 })

        let head = try NodeHarness(builtin("head.imagenet"), options: ["top_k": 3])
        let fromImage = try head.process(.payload(image))[0].value
        let fromEmbedding = try head.process(out[0].value)[0].value
        let top = try #require(fromImage["top"]?.arrayValue)
        #expect(top.count == 3)
        #expect(top[0]["index"] == 918 && top[0]["label"] == "crossword puzzle")
        #expect(fromImage == fromEmbedding)
        #expect(fromImage["path"] == .string(image.path ?? ""))
        let probabilities = top.compactMap { $0["probability"]?.doubleValue }
        #expect(probabilities == probabilities.sorted(by: >) && probabilities.reduce(0, +) <= 1.0001)

        let json = try NodeHarness(builtin("encoder.image"), options: ["format": "json"]).process(.payload(image))
        #expect(json.first?.value.arrayValue?.count == 1280)
    }

    @Test("tokens: stride16 merges 2 x 2 cells of block 10's 14 x 14 map into 49 tokens of 448, stride16-unmerged gives its 196 cells; the embedding is unchanged")
    func stride16Tokens() throws {
        let image = try goldenImage("sierpinski")
        let head = try NodeHarness(builtin("encoder.image")).process(.payload(image))
        let merged = try NodeHarness(builtin("encoder.image"), options: ["tokens": "stride16"]).process(.payload(image))
        #expect(merged.count == 2 && merged[1].port == "tokens")
        #expect(Self.embedding(merged[0].value)?.vector == Self.embedding(head[0].value)?.vector)
        let tokens = try #require(merged[1].value.tensorPayload)
        #expect(tokens.shape == [49, 448] && tokens.path == image.path)
        // The same values as the block-10 map, in make-features.py's order: token (r, c) holds cells
        // (2r + dy, 2c + dx) for (dy, dx) = (0,0), (0,1), (1,0), (1,1), 112 channels each.
        let model = try SharedImageModels.load("efficientnet-lite0").network
        #expect(model.stride16Block == 10 && model.stride16Width(merged: true) == 448 && model.stride16Width(merged: false) == 112)
        let input = try ImageInput.from(.payload(image), size: 224)
        let map = try #require(try model.featureMaps(input.data, height: 224, width: 224, taps: [10])[10])
        #expect(map.channels == 112 && map.height == 14 && map.width == 14)
        var worst: Float = 0
        for r in 0..<7 {
            for c in 0..<7 {
                for q in 0..<4 {
                    for ch in stride(from: 0, to: 112, by: 37) {
                        let expected = map.data[ch * 196 + (2 * r + q / 2) * 14 + 2 * c + q % 2]
                        worst = max(worst, abs(tokens.data[(r * 7 + c) * 448 + q * 112 + ch] - expected))
                    }
                }
            }
        }
        #expect(worst == 0)
        // stride16-unmerged: the same map one token per cell, token (y, x) at y * 14 + x, all of it.
        let cells = try NodeHarness(builtin("encoder.image"), options: ["tokens": "stride16-unmerged"]).process(.payload(image))
        #expect(Self.embedding(cells[0].value)?.vector == Self.embedding(head[0].value)?.vector)
        let unmerged = try #require(cells[1].value.tensorPayload)
        #expect(unmerged.shape == [196, 112])
        var mismatches = 0
        for t in 0..<196 {
            for ch in 0..<112 where unmerged.data[t * 112 + ch] != map.data[ch * 196 + t] { mismatches += 1 }
        }
        #expect(mismatches == 0)
        // A tensor whose stride-16 map has odd sides cannot be merged: a per-item error saying why;
        // unmerged it is 15 x 15 tokens.
        let odd = TensorPayload(shape: [3, 240, 240], data: [Float](repeating: 0.1, count: 3 * 240 * 240))
        #expect {
            try NodeHarness(builtin("encoder.image"), options: ["tokens": "stride16"]).process(.payload(odd))
        } throws: { "\($0)".contains("15 x 15") && "\($0)".contains("multiples of 32") }
        let oddCells = try NodeHarness(builtin("encoder.image"), options: ["tokens": "stride16-unmerged"]).process(.payload(odd))
        #expect(oddCells[1].value.tensorPayload?.shape == [225, 112])
    }

    @Test("a prepared tensor gives what the image gives")
    func tensorInput() throws {
        let image = try goldenImage("mandelbrot")
        let tensor = try ImageTensor(image: image.image, mean: [127], std: [128], scale: 1)
        let node = try NodeHarness(builtin("encoder.image"))
        let a = try #require(Self.embedding(try node.process(.payload(image))[0].value))
        let b = try #require(Self.embedding(try node.process(.payload(TensorPayload(shape: [1, 3, 224, 224], data: tensor.data)))[0].value))
        #expect(a.vector == b.vector)
    }

    @Test("gray, gray+alpha, RGBA, tiny and large images give defined results; gray equals its RGB copy")
    func oddImages() throws {
        let node = try NodeHarness(builtin("encoder.image"))
        func vector(_ image: Image) throws -> [Float] {
            try #require(Self.embedding(try node.process(.payload(ImagePayload(image: image)))[0].value)).vector
        }
        let gray = Image(width: 50, height: 30, channels: 1, pixels: (0..<1500).map { UInt8($0 % 251) })
        let grayRGB = Image(width: 50, height: 30, channels: 3, pixels: gray.pixels.flatMap { [$0, $0, $0] })
        let grayAlpha = Image(width: 50, height: 30, channels: 2, pixels: gray.pixels.flatMap { [$0, 7] })
        #expect(try vector(gray) == vector(grayRGB))
        #expect(try vector(grayAlpha) == vector(grayRGB))
        let rgba = Image(width: 50, height: 30, channels: 4, pixels: grayRGB.pixels.enumerated().flatMap { i, p in i % 3 == 2 ? [p, 0] : [p] })
        #expect(try vector(rgba) == vector(grayRGB))
        for image in [Image(width: 1, height: 1, channels: 3, fill: [200, 10, 10]), Image(width: 640, height: 97, channels: 3, fill: [0, 90, 200])] {
            let v = try vector(image)
            #expect(v.count == 1280 && v.allSatisfy(\.isFinite))
        }
    }

    @Test("tiles from image.tiles are embedded with their index")
    func tiles() throws {
        let image = try goldenImage("testsrc2")
        let tiles = try NodeHarness(builtin("image.tiles"), options: ["tile_size": 112, "max_tiles": 4]).process(.payload(image))
        #expect(tiles.count > 1)
        let node = try NodeHarness(builtin("encoder.image"))
        let indices = try tiles.map { try #require(Self.embedding(try node.process($0.value)[0].value)).tile }
        #expect(indices == Array(0..<tiles.count).map { Optional($0) })
    }

    @Test("wrong inputs are per-item errors")
    func wrongInputs() throws {
        let encoder = try NodeHarness(builtin("encoder.image"))
        let head = try NodeHarness(builtin("head.imagenet"))
        let bad: [Value] = [
            "a.png", 3, .payload(TensorPayload(shape: [4, 5], data: Array(repeating: 0, count: 20))),
            .payload(TensorPayload(shape: [3, 2, 2], data: [1, 2])),
            .payload(ImagePayload(image: Image(width: 0, height: 0, channels: 3, pixels: []))),
        ]
        for value in bad {
            #expect(throws: NodeError.self) { try encoder.process(value) }
            #expect(throws: NodeError.self) { try head.process(value) }
        }
        let text = Embedding(vector: Array(repeating: 0, count: 384), model: "all-MiniLM-L6-v2", text: "x")
        let error = try #require(throws: NodeError.self) { try head.process(.payload(text)) }
        #expect(error.message.contains("all-MiniLM-L6-v2"))
    }

    @Test("every copy and both nodes share one loaded model")
    func shared() throws {
        _ = try NodeHarness(builtin("encoder.image"))
        let before = SharedImageModels.loads
        DispatchQueue.concurrentPerform(iterations: 4) { copy in
            _ = try? NodeHarness(builtin("encoder.image"), context: NodeContext(nodeID: "embed", copy: copy))
        }
        _ = try NodeHarness(builtin("head.imagenet"))
        #expect(SharedImageModels.loads == before)
    }

    @Test("an unknown model names the model folder")
    func unknownModel() throws {
        let error = try #require(throws: NodeError.self) {
            try NodeHarness(builtin("head.imagenet"), options: ["model": "no-such-model"])
        }
        #expect(error.message.contains("no-such-model") && error.message.contains("fetch-models"))
    }
}
