import Foundation
import Testing
@testable import PipelineMedia

/// Frames against `ffmpeg -vf scale=W:H -sws_flags bilinear -pix_fmt rgb24`, times against ffprobe.
@Suite struct VideoDecodeTests {
    static func decodeAll(_ path: String, _ options: VideoDecodeOptions) throws -> [VideoFrame] {
        let d = try VideoDecoder(path: path, options: options)
        var frames: [VideoFrame] = []
        while let f = try d.next() { frames.append(f) }
        return frames
    }

    @Test(arguments: ["video.mp4", "video.avi", "video.webm"])
    func pixelsAndTimestamps(name: String) throws {
        let fx = try Fixtures.get()
        let path = fx.p(name)
        let frames = try Self.decodeAll(path, .init(width: 224, height: 224, threads: 2, scaleThreads: name == "video.mp4" ? 2 : 1))
        let raw = try Tool.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-i", path,
                                "-sws_flags", "bilinear", "-vf", "scale=224:224", "-fps_mode", "passthrough",
                                "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        let size = 224 * 224 * 3
        #expect(frames.count == raw.count / size, "\(name): \(frames.count) frames vs \(raw.count / size)")
        let reference = [UInt8](raw)
        var worst = 0
        for (i, f) in frames.enumerated() where (i + 1) * size <= reference.count {
            let diff = ImageDecodeTests.maxDiff(f.image.pixels, Array(reference[(i * size)..<((i + 1) * size)]))
            #expect(diff <= 1, "\(name) frame \(i): max diff \(diff)")
            worst = max(worst, diff)
        }
        print("video parity \(name): \(frames.count) frames, max diff \(worst)")
        let times = try Probe.frameTimes(path)
        #expect(frames.count == times.count)
        for (f, t) in zip(frames, times) {
            #expect(abs((f.pts ?? -1) - t) < 1e-6, "\(name): pts \(String(describing: f.pts)) vs ffprobe \(t)")
        }
    }

    /// Aspect policies against the CLI's own scale+pad / scale+crop chains.
    @Test(arguments: [
        (AspectPolicy.letterbox(fill: [0, 0, 0]), "scale=200:150,pad=200:200:0:25:color=black"),
        (AspectPolicy.centerCrop, "scale=267:200,crop=200:200:33:0"),
    ])
    func aspectPolicy(policy: AspectPolicy, filter: String) throws {
        let fx = try Fixtures.get()
        let d = try VideoDecoder(path: fx.p("video.mp4"), options: .init(width: 200, height: 200, policy: policy))
        let first = try #require(try d.next())
        #expect(first.image.width == 200 && first.image.height == 200)
        let reference = try Tool.rawRGB(fx.p("video.mp4"), filter: filter)
        let diff = ImageDecodeTests.maxDiff(first.image.pixels, reference)
        #expect(diff <= 1, "\(policy): max diff \(diff)")
    }

    @Test func everyNth() throws {
        let fx = try Fixtures.get()
        let frames = try Self.decodeAll(fx.p("video.mp4"), .init(width: 64, height: 48, sampling: .everyNth(5)))
        #expect(frames.map(\.decodedIndex) == Array(stride(from: 0, to: 50, by: 5)))
        #expect(frames.allSatisfy { $0.image.width == 64 && $0.image.height == 48 })
    }

    @Test func fpsSampling() throws {
        let fx = try Fixtures.get()
        let frames = try Self.decodeAll(fx.p("video.mp4"), .init(width: 32, height: 32, sampling: .fps(5)))
        let pts = frames.compactMap(\.pts)
        #expect(pts.count == 10)
        for (k, p) in pts.enumerated() { #expect(abs(p - Double(k) * 0.2) < 1e-6) }
    }

    @Test func keyframesOnly() throws {
        let fx = try Fixtures.get()
        let frames = try Self.decodeAll(fx.p("video.mp4"), .init(width: 32, height: 32, sampling: .keyframes))
        let keys = try Probe.keyframeTimes(fx.p("video.mp4"))
        #expect(frames.count == keys.count && !keys.isEmpty)
        for (f, k) in zip(frames, keys) { #expect(abs((f.pts ?? -1) - k) < 1e-6) }
        #expect(frames.allSatisfy { $0.isKeyframe })
    }

    @Test func timeRange() throws {
        let fx = try Fixtures.get()
        let frames = try Self.decodeAll(fx.p("video.mp4"), .init(width: 32, height: 32, start: 0.5, end: 1.0))
        let expected = try Probe.frameTimes(fx.p("video.mp4")).filter { $0 >= 0.5 - 1e-6 && $0 < 1.0 - 1e-9 }
        #expect(frames.compactMap(\.pts).count == expected.count)
        for (f, t) in zip(frames, expected) { #expect(abs((f.pts ?? -1) - t) < 1e-6) }
    }

    @Test func sourceSizeAndInfo() throws {
        let fx = try Fixtures.get()
        let d = try VideoDecoder(path: fx.p("video.mp4"), options: .init(width: 160))
        #expect(d.sourceWidth == 320 && d.sourceHeight == 240 && d.width == 160 && d.height == 120)
        #expect(d.codecName == "h264")
        #expect(abs((d.frameRate ?? 0) - 25) < 1e-9)
        let first = try #require(try d.next())
        #expect(first.image.width == 160 && first.image.height == 120 && first.isKeyframe)
    }
}
