import Foundation
import Testing
@testable import PipelineMedia

/// Samples against `ffmpeg -i X -ar R -ac C -f f32le -` (same libswresample defaults).
@Suite struct AudioDecodeTests {
    static let files = ["stereo.wav", "audio.flac", "audio.mp3", "audio.ogg", "audio.opus", "audio.m4a", "video.mp4"]

    @Test(arguments: files, [(16000, 1), (48000, 2)])
    func parity(name: String, format: (rate: Int, channels: Int)) throws {
        let fx = try Fixtures.get()
        let ours = try AudioDecoder.decode(path: fx.p(name), options: .init(sampleRate: format.rate, channels: format.channels))
        let reference = try Tool.rawF32(fx.p(name), rate: format.rate, channels: format.channels)
        #expect(ours.sampleRate == format.rate && ours.channels == format.channels)
        #expect(ours.samples.count == reference.count, "\(name): \(ours.samples.count) vs \(reference.count) samples")
        var maxDiff: Float = 0
        for i in 0..<min(ours.samples.count, reference.count) {
            maxDiff = max(maxDiff, abs(ours.samples[i] - reference[i]))
        }
        #expect(maxDiff <= 1e-4, "\(name) @\(format.rate)/\(format.channels): max diff \(maxDiff)")
        print("audio parity \(name) @\(format.rate)/\(format.channels): \(ours.samples.count) samples, max diff \(maxDiff)")
        #expect(ours.frameCount > format.rate)  // more than a second of audio
    }

    @Test func sourceFormatKeptByDefault() throws {
        let fx = try Fixtures.get()
        let d = try AudioDecoder(path: fx.p("audio.flac"))
        #expect(d.sampleRate == 44100 && d.channels == 2 && d.codecName == "flac")
        let all = try d.readAll()
        #expect(all.frameCount == 3 * 44100)
    }

    @Test func streamingChunksAreContiguous() throws {
        let fx = try Fixtures.get()
        let d = try AudioDecoder(path: fx.p("audio.mp3"), options: .init(sampleRate: 16000, channels: 1))
        var expected = 0
        var largest = 0
        while let c = try d.next() {
            #expect(c.startFrame == expected)
            #expect(abs(c.startTime - Double(expected) / 16000) < 1e-12)
            expected += c.frameCount
            largest = max(largest, c.frameCount)
        }
        #expect(expected > 40000)
        #expect(largest < 16000)  // bounded chunks: far less than the stream
    }

    @Test func windowsWithOverlap() throws {
        let fx = try Fixtures.get()
        let opts = AudioDecodeOptions(sampleRate: 16000, channels: 1)
        let full = try AudioDecoder.decode(path: fx.p("stereo.wav"), options: opts)
        let windows = try AudioWindows(decoder: AudioDecoder(path: fx.p("stereo.wav"), options: opts),
                                       seconds: 1.0, overlap: 0.25)
        var got: [AudioWindow] = []
        while let w = try windows.next() { got.append(w) }
        // 3 s at hop 0.75 s: starts 0, .75, 1.5, 2.25 (last padded).
        #expect(got.map(\.audio.startTime) == [0, 0.75, 1.5, 2.25])
        for w in got {
            #expect(w.audio.frameCount == 16000)
            let s = w.audio.startFrame
            let real = w.audio.frameCount - w.paddedFrames
            let same = Array(w.audio.samples[0..<real]) == Array(full.samples[s..<(s + real)])
            #expect(same, "window \(w.index)")
            #expect(w.audio.samples[real...].allSatisfy { $0 == 0 })
        }
        #expect(got.last?.paddedFrames == 16000 - (48000 - 36000))
    }

    @Test func windowsWithGapsAndDrop() throws {
        let fx = try Fixtures.get()
        let opts = AudioDecodeOptions(sampleRate: 8000, channels: 1)
        let full = try AudioDecoder.decode(path: fx.p("audio.flac"), options: opts)
        let windows = try AudioWindows(decoder: AudioDecoder(path: fx.p("audio.flac"), options: opts),
                                       windowFrames: 1000, hopFrames: 5000, last: .drop)
        var starts: [Int] = []
        while let w = try windows.next() {
            starts.append(w.audio.startFrame)
            let same = w.audio.samples == Array(full.samples[w.audio.startFrame..<(w.audio.startFrame + 1000)])
            #expect(same)
        }
        #expect(starts == [0, 5000, 10000, 15000, 20000])
    }
}
