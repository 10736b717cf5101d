// speech-bench: times Whisper transcription for scripts/bench-speech, and Silero VAD for
// scripts/bench-vad.
//
//   speech-bench <model-folder> <samples.f32> [--threads 2] [--runs 3]
//   speech-bench vad <model-folder> <samples.f32> [--threads 1] [--runs 3]
//
// Reads raw little-endian float32 16 kHz mono samples, transcribes them (log-mel, encoder,
// greedy decoding per 30 s window) once to warm up, then `--runs` times, and prints
// `seconds=S mel=M encode=E decode=D tokens=N text=...` for the best run on stdout. With
// `vad`: chunk probabilities and speech segments with the default options, printed as
// `seconds=S chunks=N segments=[start-end …]` (samples).
import BenchSupport
import Foundation
import PipelineModels
import PipelineTensor

var arguments = BenchArguments()
let vad = arguments.positional.first == "vad"
if vad { arguments.positional.removeFirst() }
arguments.require(2, usage: "speech-bench [vad] <model-folder> <samples.f32> [--threads 2] [--runs 3]")
let positional = arguments.positional, options = arguments.options

/// Times Silero VAD (probabilities and segments) on `samples`: best of `runs` after a warm-up.
func benchVAD(folder: String, samples: [Float], runs: Int) throws {
    let model = try SileroVADModel(folder: URL(fileURLWithPath: folder))
    _ = model.probabilities(samples)
    var best = (seconds: Double.infinity, chunks: 0, segments: [SpeechSegment]())
    for _ in 0..<runs {
        let start = Date()
        let probabilities = model.probabilities(samples)
        let segments = SpeechTimestamps.segments(probabilities: probabilities, sampleCount: samples.count)
        let seconds = Date().timeIntervalSince(start)
        if seconds < best.seconds { best = (seconds, probabilities.count, segments) }
    }
    let list = best.segments.map { "\($0.start)-\($0.end)" }.joined(separator: " ")
    print("seconds=\(String(format: "%.4f", best.seconds)) chunks=\(best.chunks) segments=[\(list)]")
}

do {
    // --threads bounds both compute pools: OpenBLAS and the worker pool.
    WorkerPool.setThreads(options["threads"] ?? (vad ? 1 : 2))
    BLAS.setThreads(WorkerPool.threads)
    let data = try Data(contentsOf: URL(fileURLWithPath: positional[1]))
    let samples = data.withUnsafeBytes { raw in
        (0..<raw.count / 4).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
    }
    if vad {
        try benchVAD(folder: positional[0], samples: samples, runs: arguments.runs)
        exit(0)
    }
    let model = try WhisperModel(directory: URL(fileURLWithPath: positional[0]))
    _ = model.transcribe(samples)
    var best = (total: Double.infinity, mel: 0.0, encode: 0.0, decode: 0.0, tokens: 0, text: "")
    for _ in 0..<arguments.runs {
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
} catch {
    fail("speech-bench", error)
}
