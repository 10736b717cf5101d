import Foundation
import PipelineCore
import PipelineMedia
import PipelineModels
import Testing

@testable import PipelineNodes

@Suite("audio.mel, encoder.whisper and asr.whisper", .serialized, .enabled(if: whisperAvailable))
struct SpeechNodeTests {
    static func audio(_ samples: [Float], rate: Int = 16000, channels: Int = 1) -> Value {
        .payload(AudioPayload(audio: AudioSamples(samples: samples, sampleRate: rate, channels: channels), path: "x.wav"))
    }

    static func transcript(_ out: [NodeHarness.Emitted]) -> (text: String?, segments: [Value]?) {
        let object = out.first?.value.objectValue
        return (object?["text"]?.stringValue, object?["segments"]?.arrayValue)
    }

    @Test("speech becomes the CTranslate2 transcript, with segment times")
    func transcribes() throws {
        let samples = try WhisperFixture.clip("question")
        let out = try NodeHarness(builtin("asr.whisper")).process(Self.audio(samples))
        let (text, segments) = Self.transcript(out)
        #expect(text == "Where did you put the keys to the red car?")
        #expect(segments?.count == 1)
        #expect(segments?.first?.objectValue?["end"]?.doubleValue == Double(samples.count) / 16000)
    }

    @Test("silence, 0.1 s and empty audio give a defined transcript")
    func edgeCases() throws {
        let node = try NodeHarness(builtin("asr.whisper"))
        for count in [16000, 1600] {
            let (text, segments) = Self.transcript(try node.process(Self.audio([Float](repeating: 0, count: count))))
            #expect(text != nil && segments?.count == 1)
        }
        let (text, segments) = Self.transcript(try node.process(Self.audio([])))
        #expect(text == "" && segments?.isEmpty == true)
    }

    @Test("wrong rate, stereo or a non-audio value is a per-item error")
    func badInput() throws {
        let node = try NodeHarness(builtin("asr.whisper"))
        #expect(throws: NodeError.self) { try node.process(Self.audio([0, 0], rate: 44100)) }
        #expect(throws: NodeError.self) { try node.process(Self.audio([0, 0], channels: 2)) }
        #expect(throws: NodeError.self) { try node.process("text") }
        let encoder = try NodeHarness(builtin("encoder.whisper"))
        #expect(throws: NodeError.self) { try encoder.process(.payload(TensorPayload(shape: [80, 10], data: .init(repeating: 0, count: 800)))) }
    }

    @Test("audio.mel gives [80, 3000] per 30 s window; encoder.whisper gives [1500, 384]")
    func melAndEncoder() throws {
        let mel = try NodeHarness(builtin("audio.mel"))
        let out = try mel.process(Self.audio([Float](repeating: 0.01, count: 16000 * 31)))
        #expect(out.map(\.sequence) == [0, 1])
        let first = try #require(out.first?.value.tensorPayload)
        #expect(first.shape == [80, 3000])
        let whole = try NodeHarness(builtin("audio.mel"), options: ["pad": false]).process(Self.audio([Float](repeating: 0, count: 1600)))
        #expect(whole.first?.value.tensorPayload?.shape == [80, 10])
        let states = try NodeHarness(builtin("encoder.whisper")).process(.payload(first))
        #expect(states.first?.value.tensorPayload?.shape == [1500, 384])
    }

    @Test("all nodes and copies share one loaded model")
    func shared() throws {
        _ = try NodeHarness(builtin("asr.whisper"))
        let before = SharedSpeechModels.loads
        DispatchQueue.concurrentPerform(iterations: 3) { copy in
            _ = try? NodeHarness(builtin("asr.whisper"), context: NodeContext(nodeID: "asr", copy: copy))
        }
        _ = try NodeHarness(builtin("encoder.whisper"))
        #expect(SharedSpeechModels.loads == before)
    }
}
