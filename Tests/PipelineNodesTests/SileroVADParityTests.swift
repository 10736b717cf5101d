import Foundation
import PipelineModels
import Testing

/// Silero VAD against silero-vad 6.2.3's own TorchScript model (scripts/encoder-reference/
/// silero-goldens.py): the speech probability of every chunk, and the segments of
/// `get_speech_timestamps` with its defaults and other parameters.
@Suite("Silero VAD parity", .enabled(if: sileroAvailable), .serialized)
struct SileroVADParityTests {
    /// `long` (33 s, 1030 chunks) spans several of the model's 256-chunk blocks, so the state
    /// carried between blocks is checked too; `tiny` (0.1 s) is four chunks, the last zero-padded.
    static let cases = ["dialogue", "noisy", "long", "short", "silence", "noise", "tiny"]

    @Test("chunk probabilities within 1e-4 of the package's model", arguments: cases)
    func probabilities(name: String) throws {
        let model = try SileroFixture.model.get()
        let golden = try SileroFixture.goldenCase(name)
        let samples = try SileroFixture.samples(name)
        #expect(samples.count == golden.samples)
        let ours = model.probabilities(samples)
        #expect(ours.count == golden.probabilities.count)
        let worst = zip(ours, golden.probabilities).map { abs($0 - $1) }.max() ?? 0
        print("silero parity: \(name) \(ours.count) chunks, max |Δp| \(worst)")
        #expect(worst <= 1e-4, "max |Δp| \(worst)")
    }

    @Test("segments identical to get_speech_timestamps (defaults and other parameters)", arguments: cases)
    func segments(name: String) throws {
        let model = try SileroFixture.model.get()
        let golden = try SileroFixture.goldenCase(name)
        let ours = model.probabilities(try SileroFixture.samples(name))
        for run in golden.runs {
            // The state machine alone, on the reference's own probabilities: exact.
            let fromReference = SpeechTimestamps.segments(
                probabilities: golden.probabilities, sampleCount: golden.samples, options: run.options)
            #expect(fromReference == run.segments, "\(run.params)")
            // End to end, on ours (no chunk lies within the tolerance of a threshold).
            let endToEnd = SpeechTimestamps.segments(probabilities: ours, sampleCount: golden.samples, options: run.options)
            #expect(endToEnd == run.segments, "\(run.params)")
        }
    }

    @Test("empty audio has no chunks and no segments")
    func empty() throws {
        let model = try SileroFixture.model.get()
        #expect(model.probabilities([]).isEmpty)
        #expect(SpeechTimestamps.segments(probabilities: [], sampleCount: 0).isEmpty)
    }
}
