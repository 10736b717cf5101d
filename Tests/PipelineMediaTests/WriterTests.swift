import Foundation
import Testing
@testable import PipelineMedia

/// PNG/JPEG/WAV written by us and read back by the ffmpeg CLI.
@Suite struct WriterTests {
    @Test func pngRoundTrip() throws {
        let fx = try Fixtures.get()
        for name in ["rgb.png", "alpha.png", "photo.jpg"] {
            let image = try ImageDecoder.decode(path: fx.p(name))
            let out = fx.p("out-\(name).png")
            try ImageWriter.write(image, to: out)
            let back = try Tool.rawRGB(out, pixFmt: image.channels == 4 ? "rgba" : "rgb24")
            let same = back == image.pixels
            #expect(same, "\(name) PNG round trip")
        }
    }

    @Test func jpegIsReadableAndClose() throws {
        let fx = try Fixtures.get()
        let image = try ImageDecoder.decode(path: fx.p("rgb.png"))
        let out = fx.p("out.jpg")
        try ImageWriter.write(image, to: out, quality: 95)
        let back = try Tool.rawRGB(out)
        #expect(back.count == image.pixels.count)
        var sum = 0
        for i in 0..<back.count { sum += abs(Int(back[i]) - Int(image.pixels[i])) }
        let mean = Double(sum) / Double(back.count)
        #expect(mean < 4, "mean abs error \(mean)")
        #expect(throws: MediaError.self) { try ImageWriter.write(image, to: fx.p("out.xyz")) }
    }

    @Test(arguments: [WAVWriter.Encoding.float32, .pcm16])
    func wavRoundTrip(encoding: WAVWriter.Encoding) throws {
        let fx = try Fixtures.get()
        let audio = try AudioDecoder.decode(path: fx.p("audio.flac"), options: .init(sampleRate: 16000, channels: 2))
        let out = fx.p("out-\(encoding).wav")
        try WAVWriter.write(audio, to: out, encoding: encoding)
        let back = try Tool.rawF32(out, rate: 16000, channels: 2)
        #expect(back.count == audio.samples.count)
        let tolerance: Float = encoding == .float32 ? 0 : 1.0 / 32767
        var maxDiff: Float = 0
        for i in 0..<min(back.count, audio.samples.count) { maxDiff = max(maxDiff, abs(back[i] - max(-1, min(1, audio.samples[i])))) }
        #expect(maxDiff <= tolerance)
        // The in-memory encoding is byte for byte the streamed file.
        #expect(try WAVWriter.encode(audio, encoding: encoding) == [UInt8](try Data(contentsOf: URL(fileURLWithPath: out))))
    }
}
