import Foundation
import PipelineModels
import Testing

/// True when the real-weight Silero VAD tests can run (or must, in CI, which installs the models).
let sileroAvailable = FileManager.default.fileExists(atPath: speechModelFolder + "/silero-vad/model.safetensors")
    || ProcessInfo.processInfo.environment["CI"] != nil

/// Silero VAD, its references (scripts/encoder-reference/silero-goldens.py) and the clips
/// they were made on, rebuilt here from the committed Whisper clips bit for bit.
enum SileroFixture {
    static let model: Result<SileroVADModel, any Error> = Result {
        try SileroVADModel(folder: URL(fileURLWithPath: speechModelFolder + "/silero-vad"))
    }

    struct Golden: Decodable {
        let package: String
        let cases: [String: Case]
    }
    struct Case: Decodable {
        let recipe: Recipe
        let samples: Int
        let probabilities: [Float]
        let runs: [Run]
    }
    struct Recipe: Decodable {
        struct Part: Decodable {
            let clip: String?
            let from: Int?
            let to: Int?
            let zeros: Int?
            let noise: Int?
            let seed: UInt32?
            let amplitude: Double?
        }
        struct Mix: Decodable {
            let seed: UInt32
            let amplitude: Double
        }
        let parts: [Part]
        let mix: Mix?
    }
    /// `get_speech_timestamps` keyword arguments and the segments (in samples) it returned.
    struct Run: Decodable {
        struct Params: Decodable {
            let threshold: Double?
            let min_speech_duration_ms: Double?
            let max_speech_duration_s: Double?
            let min_silence_duration_ms: Double?
            let speech_pad_ms: Double?
        }
        struct Speech: Decodable, Equatable {
            let start: Int
            let end: Int
        }
        let params: Params
        let speeches: [Speech]

        var options: SpeechTimestampOptions {
            var o = SpeechTimestampOptions()
            if let v = params.threshold { o.threshold = v }
            if let v = params.min_speech_duration_ms { o.minSpeechMilliseconds = v }
            if let v = params.max_speech_duration_s { o.maxSpeechSeconds = v }
            if let v = params.min_silence_duration_ms { o.minSilenceMilliseconds = v }
            if let v = params.speech_pad_ms { o.speechPadMilliseconds = v }
            return o
        }
        var segments: [SpeechSegment] { speeches.map { SpeechSegment(start: $0.start, end: $0.end) } }
    }

    static let golden: Result<Golden, any Error> = Result {
        let url = WhisperFixture.golden.deletingLastPathComponent().appendingPathComponent("silero-vad/vad.json")
        return try JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
    }

    static func goldenCase(_ name: String) throws -> Case {
        try #require(try golden.get().cases[name], "no golden case \(name)")
    }

    /// The samples of a golden case, built as the reference script built them.
    static func samples(_ name: String) throws -> [Float] {
        let recipe = try goldenCase(name).recipe
        var audio: [Float] = []
        for part in recipe.parts {
            if let clip = part.clip {
                let decoded = try WhisperFixture.clip(clip)
                audio += decoded[(part.from ?? 0)..<(part.to ?? decoded.count)]
            } else if let zeros = part.zeros {
                audio += [Float](repeating: 0, count: zeros)
            } else if let count = part.noise, let seed = part.seed, let amplitude = part.amplitude {
                audio += noise(count: count, seed: seed, amplitude: amplitude)
            }
        }
        if let mix = recipe.mix {
            for (i, n) in noise(count: audio.count, seed: mix.seed, amplitude: mix.amplitude).enumerated() { audio[i] += n }
        }
        return audio
    }

    /// Uniform noise in [−amplitude, amplitude) from the reference script's 32-bit LCG.
    static func noise(count: Int, seed: UInt32, amplitude: Double) -> [Float] {
        var x = seed
        return (0..<count).map { _ in
            x = x &* 1_664_525 &+ 1_013_904_223
            return Float((Double(x >> 8) / 16_777_216.0 * 2.0 - 1.0) * amplitude)
        }
    }
}
