import PipelineCore
import Testing

@testable import PipelineNodes

@Suite("file.route and pooled Whisper features")
struct FileRouteTests {
    @Test("paths go to the image, audio or other port by extension, case-insensitively")
    func routes() throws {
        let node = try NodeHarness(builtin("file.route"))
        #expect(try node.process("inbox/cat/a.JPG").map(\.port) == ["image"])
        #expect(try node.process("inbox/hello/b.wav").map(\.port) == ["audio"])
        #expect(try node.process("inbox/notes.txt").map(\.port) == ["other"])
        #expect(try node.process("inbox/no-extension").map(\.port) == ["other"])
        let custom = try NodeHarness(builtin("file.route"), options: ["image": ["tif"], "audio": []])
        #expect(try custom.process("x.tif").map(\.port) == ["image"])
        #expect(try custom.process("x.png").map(\.port) == ["other"])
    }

    @Test("pool: mean averages only the encoder frames whose mel frames rise above the padding floor")
    func pooling() {
        // 2 bands x 8 mel frames; frames 0-2 hold sound, 3-7 are at the floor (-1).
        let bands = 2, melFrames = 8, frames = 4, width = 2
        var mel = [Float](repeating: -1, count: bands * melFrames)
        for t in 0..<3 { mel[t] = 0.5 }
        mel[melFrames + 1] = 0.2
        let states: [Float] = [1, 10, 3, 30, 100, 100, 100, 100]  // rows: frame 0..3
        // Encoder frame 0 covers mel 0-1, frame 1 covers mel 2-3 (mel 2 holds sound): both count.
        #expect(WhisperEncoderNode.pooled(states: states, mel: mel, bands: bands, melFrames: melFrames, frames: frames, width: width) == [2, 20])
        // All at the floor (digital silence): the whole window is averaged.
        let silent = [Float](repeating: -1, count: bands * melFrames)
        #expect(WhisperEncoderNode.pooled(states: states, mel: silent, bands: bands, melFrames: melFrames, frames: frames, width: width)
            == [51, 60])
    }
}
