import Foundation
import Testing
@testable import PipelineMedia

/// Resize parity with the ffmpeg CLI, aspect policies, EXIF orientation, tensors, tiling.
@Suite struct ImageTransformTests {
    @Test(arguments: [ScaleAlgorithm.bilinear, .bicubic, .area, .neighbor])
    func resizeParity(algorithm: ScaleAlgorithm) throws {
        let fx = try Fixtures.get()
        let image = try ImageDecoder.decode(path: fx.p("rgb.png"))
        let ours = try image.scaled(width: 224, height: 224, algorithm: algorithm)
        let reference = try Tool.rawRGB(fx.p("rgb.png"), flags: algorithm.rawValue, filter: "scale=224:224")
        #expect(ImageDecodeTests.maxDiff(ours.pixels, reference) <= 1)
    }

    @Test func aspectPolicies() throws {
        let fx = try Fixtures.get()
        let image = try ImageDecoder.decode(path: fx.p("rgb.png"))  // 320x240
        let stretch = try image.resized(width: 100, height: 100)
        #expect(stretch.width == 100 && stretch.height == 100)
        let (boxed, place) = try image.letterboxed(width: 200, height: 200, fill: [7, 8, 9])
        #expect(boxed.width == 200 && boxed.height == 200)
        #expect(place == Placement(x: 0, y: 25, width: 200, height: 150, scaleX: 0.625, scaleY: 0.625))
        #expect(Array(boxed.pixel(x: 100, y: 0)) == [7, 8, 9])
        #expect(Array(boxed.pixel(x: 100, y: 199)) == [7, 8, 9])
        let scaledInner = try image.scaled(width: 200, height: 150)
        #expect(Array(boxed.pixel(x: 10, y: 25 + 10)) == Array(scaledInner.pixel(x: 10, y: 10)))
        let crop = try image.resized(width: 100, height: 100, policy: .centerCrop)
        #expect(crop.width == 100 && crop.height == 100)
        let covering = try image.scaled(width: 133, height: 100)
        let cropMatches = crop.pixels == covering.cropped(x: 16, y: 0, width: 100, height: 100).pixels
        #expect(cropMatches)
        let short = try image.resized(width: 120, height: 120, policy: .shorterSide)
        #expect(short.width == 160 && short.height == 120)
    }

    /// Inserts an EXIF APP1 segment with `orientation` right after the JPEG SOI marker.
    static func withExif(_ jpeg: Data, orientation: UInt16) -> Data {
        var tiff: [UInt8] = Array("MM".utf8) + [0, 0x2a, 0, 0, 0, 8, 0, 1]
        tiff += [0x01, 0x12, 0, 3, 0, 0, 0, 1, UInt8(orientation >> 8), UInt8(orientation & 0xff), 0, 0]
        tiff += [0, 0, 0, 0]
        let payload: [UInt8] = Array("Exif".utf8) + [0, 0] + tiff
        let len = payload.count + 2
        var out = Data(jpeg.prefix(2))
        out.append(contentsOf: [0xff, 0xe1, UInt8(len >> 8), UInt8(len & 0xff)] + payload)
        out.append(jpeg.dropFirst(2))
        return out
    }

    @Test(arguments: 1...8)
    func exifOrientation(code: Int) throws {
        let fx = try Fixtures.get()
        let plain = try Data(contentsOf: URL(fileURLWithPath: fx.p("photo.jpg")))
        let path = try fx.write("exif\(code).jpg", Self.withExif(plain, orientation: UInt16(code)))
        let upright = try ImageDecoder.decode(path: path)
        let stored = try ImageDecoder.decode(path: path, options: .init(applyOrientation: false))
        #expect(stored.source?.orientation.rawValue == code)
        #expect(stored.width == 320 && stored.height == 240)
        // Reference: the CLI's pixels of the stored image, turned by the CLI's own filters.
        let raw = try Tool.rawRGB(path, autorotate: false)
        let storedMatches = stored.pixels == raw
        #expect(storedMatches)
        let filters = [1: "null", 2: "hflip", 3: "hflip,vflip", 4: "vflip", 5: "transpose=cclock_flip",
                       6: "transpose=clock", 7: "transpose=clock_flip", 8: "transpose=cclock"]
        let turned = try Tool.rawRGB(path, filter: filters[code]!, autorotate: false)
        let expectSwap = code >= 5
        #expect(upright.width == (expectSwap ? 240 : 320) && upright.height == (expectSwap ? 320 : 240))
        let uprightMatches = upright.pixels == turned
        #expect(uprightMatches, "orientation \(code)")
        #expect(upright.source?.orientationApplied == (code != 1))
    }

    @Test func normalizeCHW() throws {
        let image = Image(width: 2, height: 1, channels: 3, pixels: [255, 0, 51, 0, 255, 102])
        let t = try ImageTensor(image: image, mean: [0.5, 0.5, 0.5], std: [0.5, 0.25, 0.5])
        #expect(t.shape == [3, 1, 2])
        let expected: [Float] = [1, -1, -2, 2, (0.2 - 0.5) / 0.5, (0.4 - 0.5) / 0.5]
        for (a, b) in zip(t.data, expected) { #expect(abs(a - b) < 1e-6) }
        #expect(throws: MediaError.self) { try ImageTensor(image: image, mean: [0, 0], std: [1, 1]) }
    }

    @Test func tilingGrid() throws {
        let tiler = ImageTiler(tileSize: 448, maxTiles: 12)
        #expect(tiler.grid(width: 448, height: 448) == (1, 1))
        #expect(tiler.grid(width: 1344, height: 448) == (3, 1))
        #expect(tiler.grid(width: 800, height: 1600) == (2, 4))  // tie (1,2)/(2,4): image fills half of 2x4
        #expect(tiler.grid(width: 2000, height: 1000) == (2, 1) || tiler.grid(width: 2000, height: 1000) == (4, 2))
        // Square image: ties among (1,1),(2,2),(3,3) go to the largest whose half-area the image exceeds.
        #expect(tiler.grid(width: 1000, height: 1000) == (3, 3))
        #expect(tiler.grid(width: 700, height: 700) == (2, 2))
        #expect(tiler.grid(width: 100, height: 100) == (1, 1))
    }

    @Test func tilesAndThumbnail() throws {
        let fx = try Fixtures.get()
        let image = try ImageDecoder.decode(path: fx.p("rgb.png"))  // 4:3
        let tiler = ImageTiler(tileSize: 112, maxTiles: 6, algorithm: .bilinear)
        let t = try tiler.tile(image)
        #expect(t.columns * t.rows == t.tiles.count)
        #expect(t.tiles.allSatisfy { $0.width == 112 && $0.height == 112 })
        let big = try image.scaled(width: t.columns * 112, height: t.rows * 112)
        let tileMatches = t.rows == 1 || t.tiles[t.columns].pixels == big.cropped(x: 0, y: 112, width: 112, height: 112).pixels
        #expect(tileMatches)
        #expect(t.thumbnail?.width == 112)
    }
}
