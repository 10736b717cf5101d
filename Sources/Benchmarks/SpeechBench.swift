import ArgumentParser
import Foundation
import PipelineModels

/// `pipeline-bench speech`: times Whisper transcription for scripts/bench-speech.
///
/// Reads raw little-endian float32 16 kHz mono samples, transcribes them (log-mel, encoder,
/// greedy decoding per 30 s window) once to warm up, then `--runs` times, and prints
/// `seconds=S mel=M encode=E decode=D tokens=N text=...` for the best run.
struct SpeechBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "speech",
        abstract: "Time Whisper transcription of raw 16 kHz samples (scripts/bench-speech).")
    @Argument(help: "The model folder (CTranslate2 Whisper).") var modelFolder: String
    @Argument(help: "Raw float32 16 kHz mono samples.") var samplesFile: String
    @OptionGroup var compute: ComputeOptions

    func run() throws {
        compute.applyThreads(default: 2)
        let samples = try readFloats(samplesFile)
        let model = try WhisperModel(directory: URL(fileURLWithPath: modelFolder))
        _ = model.transcribe(samples)
        var best = (total: Double.infinity, mel: 0.0, encode: 0.0, decode: 0.0, tokens: 0, text: "")
        for _ in 0..<compute.timedRuns {
            var (mel, encode, decode, tokens, text) = (0.0, 0.0, 0.0, 0, "")
            let start = Date()
            for offset in stride(from: 0, to: samples.count, by: WhisperMel.windowSamples) {
                let t0 = Date()
                let features = model.features(samples[offset..<min(samples.count, offset + WhisperMel.windowSamples)])
                let t1 = Date()
                let encoded = model.encoder.encode(features)
                let t2 = Date()
                let ids = model.generate(encoded: encoded)
                let t3 = Date()
                mel += t1.timeIntervalSince(t0)
                encode += t2.timeIntervalSince(t1)
                decode += t3.timeIntervalSince(t2)
                tokens += ids.count
                text += model.text(ids)
            }
            let total = Date().timeIntervalSince(start)
            if total < best.total { best = (total, mel, encode, decode, tokens, text) }
        }
        func f(_ x: Double) -> String { String(format: "%.4f", x) }
        print("seconds=\(f(best.total)) mel=\(f(best.mel)) encode=\(f(best.encode)) decode=\(f(best.decode)) tokens=\(best.tokens) text=\(best.text)")
    }
}

/// `pipeline-bench vad`: times Silero VAD for scripts/bench-vad.
///
/// Chunk probabilities and speech segments with the default options, best of `--runs` after
/// a warm-up, printed as `seconds=S chunks=N segments=[start-end …]` (samples).
struct VADBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vad",
        abstract: "Time Silero VAD on raw 16 kHz samples (scripts/bench-vad).")
    @Argument(help: "The model folder (Silero VAD).") var modelFolder: String
    @Argument(help: "Raw float32 16 kHz mono samples.") var samplesFile: String
    @OptionGroup var compute: ComputeOptions

    func run() throws {
        compute.applyThreads(default: 1)
        let samples = try readFloats(samplesFile)
        let model = try SileroVADModel(folder: URL(fileURLWithPath: modelFolder))
        _ = model.probabilities(samples)
        var best = (seconds: Double.infinity, chunks: 0, segments: [SpeechSegment]())
        for _ in 0..<compute.timedRuns {
            let start = Date()
            let probabilities = model.probabilities(samples)
            let segments = SpeechTimestamps.segments(probabilities: probabilities, sampleCount: samples.count)
            let seconds = Date().timeIntervalSince(start)
            if seconds < best.seconds { best = (seconds, probabilities.count, segments) }
        }
        let list = best.segments.map { "\($0.start)-\($0.end)" }.joined(separator: " ")
        print("seconds=\(String(format: "%.4f", best.seconds)) chunks=\(best.chunks) segments=[\(list)]")
    }
}
