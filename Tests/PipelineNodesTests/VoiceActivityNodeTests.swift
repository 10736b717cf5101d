import Foundation
import PipelineCore
import PipelineMedia
import PipelineModels
import Testing

@testable import PipelineNodes

@Suite("audio.vad", .serialized, .enabled(if: sileroAvailable))
struct VoiceActivityNodeTests {
    static func audio(_ samples: [Float], rate: Int = 16000, channels: Int = 1, startFrame: Int = 0) -> Value {
        .payload(AudioPayload(
            audio: AudioSamples(samples: samples, sampleRate: rate, channels: channels, startFrame: startFrame), path: "x.wav"))
    }

    /// The `segments` record's [(start, end)] in seconds, and the `speech` packets.
    static func split(_ out: [NodeHarness.Emitted]) -> (record: [String: Value]?, times: [(Double, Double)], speech: [NodeHarness.Emitted]) {
        let record = out.first { $0.port == "segments" }?.value.objectValue
        let times = (record?["segments"]?.arrayValue ?? []).compactMap { v -> (Double, Double)? in
            guard let o = v.objectValue, let s = o["start"]?.doubleValue, let e = o["end"]?.doubleValue else { return nil }
            return (s, e)
        }
        return (record, times, out.filter { $0.port == "speech" })
    }

    @Test("segments and speech cuts match get_speech_timestamps; times count from the packet's start")
    func dialogue() throws {
        let samples = try SileroFixture.samples("dialogue")
        let golden = try SileroFixture.goldenCase("dialogue").runs[0].speeches
        let offset = 48_000  // the packet starts 3 s into its file
        let out = try NodeHarness(builtin("audio.vad")).process(Self.audio(samples, startFrame: offset), sequence: 2)
        let (record, times, speech) = Self.split(out)
        #expect(record?["path"]?.stringValue == "x.wav")
        #expect(record?["duration"]?.doubleValue == Double(samples.count) / 16000)
        #expect(times.map(\.0) == golden.map { 3 + Double($0.start) / 16000 })
        #expect(times.map(\.1) == golden.map { 3 + Double($0.end) / 16000 })
        #expect(speech.count == golden.count)
        for (n, (packet, segment)) in zip(speech, golden).enumerated() {
            let payload = try #require(packet.value.audioPayload)
            #expect(payload.audio.samples == Array(samples[segment.start..<segment.end]))
            #expect(payload.audio.startFrame == offset + segment.start)
            #expect(packet.timestamp == 3 + Double(segment.start) / 16000)
            #expect(packet.sequence == 2 * 100_000 + n)
        }
    }

    @Test("options map to get_speech_timestamps' parameters")
    func options() throws {
        let long = try SileroFixture.samples("long")
        let split = try SileroFixture.goldenCase("long").runs.first { $0.params.max_speech_duration_s == 5 }
        let out = try NodeHarness(builtin("audio.vad"), options: ["max_speech_s": 5]).process(Self.audio(long))
        #expect(Self.split(out).times.map(\.0) == split?.speeches.map { Double($0.start) / 16000 })

        let dialogue = try SileroFixture.samples("dialogue")
        let loose = try SileroFixture.goldenCase("dialogue").runs.first { $0.params.threshold == 0.3 }
        let options: [String: Value] = ["threshold": 0.3, "min_silence_ms": 300, "speech_pad_ms": 100]
        let out2 = try NodeHarness(builtin("audio.vad"), options: options).process(Self.audio(dialogue))
        #expect(Self.split(out2).times.map(\.1) == loose?.speeches.map { Double($0.end) / 16000 })
        let strict = try SileroFixture.goldenCase("dialogue").runs.first { $0.params.min_speech_duration_ms == 1000 }
        let out3 = try NodeHarness(builtin("audio.vad"), options: ["min_speech_ms": 1000, "speech_pad_ms": 0])
            .process(Self.audio(dialogue))
        #expect(Self.split(out3).times.map(\.0) == strict?.speeches.map { Double($0.start) / 16000 })
    }

    @Test("silence, noise, 0.1 s and empty audio give a record with no segments and no speech")
    func nothing() throws {
        let node = try NodeHarness(builtin("audio.vad"))
        for samples in [[Float](repeating: 0, count: 48_000), try SileroFixture.samples("noise"),
                        try SileroFixture.samples("tiny"), []] {
            let (record, times, speech) = Self.split(try node.process(Self.audio(samples)))
            #expect(record?["segments"]?.arrayValue?.isEmpty == true)
            #expect(times.isEmpty && speech.isEmpty)
        }
    }

    @Test("wrong rate, stereo or a non-audio value is a per-item error naming the fix")
    func badInput() throws {
        let node = try NodeHarness(builtin("audio.vad"))
        let error = #expect(throws: NodeError.self) { try node.process(Self.audio([0, 0], rate: 44100)) }
        #expect("\(error!)".contains("44100 Hz") && "\(error!)".contains("sample_rate: 16000"))
        #expect(throws: NodeError.self) { try node.process(Self.audio([0, 0], channels: 2)) }
        #expect(throws: NodeError.self) { try node.process("text") }
    }

    @Test("a missing, corrupt or wrong-kind model is a clear error naming the file")
    func badModel() throws {
        let dir = try TempDir()
        func message(_ folder: String) -> String {
            do {
                _ = try NodeHarness(builtin("audio.vad"), options: ["model": .string(folder)])
                return "loaded"
            } catch {
                return "\(error)"
            }
        }
        #expect(message(dir.path + "/absent").contains("does not exist"))
        let empty = try dir.dir("empty")
        #expect(message(empty).contains("model.safetensors"))
        try dir.file("corrupt/model.safetensors", bytes: [9, 0, 0, 0, 0, 0, 0, 0] + Array("{not json".utf8))
        #expect(message(dir.path + "/corrupt").contains("bad JSON header"))
        // A safetensors file of another model: the first tensor looked for is named.
        let header = Array(#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#.utf8)
        var bytes = withUnsafeBytes(of: UInt64(header.count).littleEndian, Array.init) + header
        bytes += [0, 0, 0, 0]
        try dir.file("other/model.safetensors", bytes: bytes)
        #expect(message(dir.path + "/other").contains("stft.forward_basis_buffer"))
    }

    @Test("all copies share one loaded model")
    func shared() throws {
        _ = try NodeHarness(builtin("audio.vad"))
        let before = SharedVADModels.loads
        DispatchQueue.concurrentPerform(iterations: 3) { copy in
            _ = try? NodeHarness(builtin("audio.vad"), context: NodeContext(nodeID: "vad", copy: copy))
        }
        #expect(SharedVADModels.loads == before)
    }
}
