import Foundation
import PipelineModels
import Testing

/// Whisper tiny.en against its references (scripts/encoder-reference/whisper-goldens.py):
/// openai-whisper's log-mel features, CTranslate2's encoder output and greedy transcripts.
@Suite("Whisper parity", .enabled(if: whisperAvailable), .serialized)
struct WhisperParityTests {
    static let melClips = ["hello", "pangram", "long"]
    static let allClips = ["hello", "weather", "numbers", "short", "question", "pangram", "meeting", "recipe",
                           "train", "library", "long"]

    @Test("log-mel features within 1e-4 of openai-whisper", arguments: melClips)
    func melParity(clip: String) throws {
        let model = try WhisperFixture.model.get()
        let golden = try #require(try WhisperFixture.load([String: WhisperFixture.Excerpt].self, "mel.json")[clip])
        let features = model.features(try WhisperFixture.clip(clip)[...])
        #expect(features.count == 80 * 3000)
        var worst: Float = 0
        for (frame, values) in zip(golden.frames ?? [], golden.values) {
            for band in 0..<80 { worst = max(worst, abs(features[band * 3000 + frame] - values[band])) }
        }
        print("whisper parity: mel \(clip) max |Δ| \(worst)")
        #expect(worst <= 1e-4, "max |Δ| \(worst)")
    }

    @Test("encoder output within 5e-4 of CTranslate2 (float32 compute, F16 weights)", arguments: melClips)
    func encoderParity(clip: String) throws {
        let model = try WhisperFixture.model.get()
        let golden = try #require(try WhisperFixture.load([String: WhisperFixture.Excerpt].self, "encoder.json")[clip])
        let encoded = model.encoder.encode(model.features(try WhisperFixture.clip(clip)[...]))
        #expect(encoded.count == 1500 * 384)
        var worst: Float = 0
        for (row, values) in zip(golden.rows ?? [], golden.values) {
            for i in 0..<384 { worst = max(worst, abs(encoded[row * 384 + i] - values[i])) }
        }
        print("whisper parity: encoder \(clip) max |Δ| \(worst)")
        #expect(worst <= 5e-4, "max |Δ| \(worst)")
    }

    @Test("greedy transcripts identical to CTranslate2", arguments: allClips)
    func transcriptParity(clip: String) throws {
        let model = try WhisperFixture.model.get()
        let golden = try #require(try WhisperFixture.load([String: WhisperFixture.Transcript].self, "transcripts.json")[clip])
        let samples = try WhisperFixture.clip(clip)
        #expect(samples.count == golden.samples)
        let segments = model.transcribe(samples)
        #expect(segments.map(\.tokens) == golden.windows.map(\.ids))
        #expect(segments.map(\.text) == golden.windows.map(\.text))
    }
}
