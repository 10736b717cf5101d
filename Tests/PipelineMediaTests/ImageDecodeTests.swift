import Foundation
import Testing
@testable import PipelineMedia

/// Decoded pixels against `ffmpeg -f rawvideo -pix_fmt rgb24|rgba` with the same sws flags.
@Suite struct ImageDecodeTests {
    /// Largest absolute byte difference (count mismatch is a failure).
    static func maxDiff(_ a: [UInt8], _ b: [UInt8]) -> Int {
        guard a.count == b.count else { return Int.max }
        var m = 0
        for i in 0..<a.count { m = max(m, abs(Int(a[i]) - Int(b[i]))) }
        return m
    }

    @Test(arguments: ["rgb.png", "photo.jpg", "image.bmp", "image.webp", "image.tiff", "anim.gif",
                      "gray.png", "deep.png", "gray16.png"])
    func rgbParity(name: String) throws {
        let fx = try Fixtures.get()
        let image = try ImageDecoder.decode(path: fx.p(name), options: .init(channels: .rgb))
        #expect(image.width == 320 && image.height == 240 && image.channels == 3)
        let reference = try Tool.rawRGB(fx.p(name), flags: "bilinear")
        let diff = Self.maxDiff(image.pixels, reference)
        #expect(diff <= 1, "\(name): max diff \(diff)")
        print("image parity \(name): max diff \(diff)")
    }

    @Test func alphaParity() throws {
        let fx = try Fixtures.get()
        let image = try ImageDecoder.decode(path: fx.p("alpha.png"))
        #expect(image.channels == 4)
        #expect(image.source?.hasAlpha == true)
        let reference = try Tool.rawRGB(fx.p("alpha.png"), pixFmt: "rgba")
        #expect(Self.maxDiff(image.pixels, reference) == 0)
        #expect(image.pixels[3] == 128 || image.pixels[3] == 127)
    }

    @Test func sourceInfo() throws {
        let fx = try Fixtures.get()
        let deep = try ImageDecoder.decode(path: fx.p("deep.png"))
        #expect(deep.source?.bitDepth == 16)
        #expect(deep.source?.codec == "png")
        let gray = try ImageDecoder.decode(path: fx.p("gray.png"))
        #expect(gray.source?.pixelFormat == "gray")
        #expect(gray.channels == 3)
    }
}
