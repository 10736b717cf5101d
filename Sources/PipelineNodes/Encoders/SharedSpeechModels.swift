import Foundation
import PipelineCore
import PipelineMedia
import PipelineModels
import Synchronization

/// The shared Whisper models: every node and copy naming a model shares one set of weights.
public enum SharedSpeechModels {
    static let cache = ModelCache<WhisperModel>()

    /// How many times a model was read from disk in this process (for tests).
    public static var loads: Int { cache.loads }

    /// The Whisper model for the folder at `path`, loading it on first use.
    public static func whisper(at path: String) throws -> WhisperModel {
        try cache.model(at: path) { try WhisperModel(directory: URL(fileURLWithPath: $0)) }
    }

    /// Resolves a node's `model:` option and loads it, with node-level errors.
    static func load(_ model: String) throws -> WhisperModel {
        try cache.load(model) { try WhisperModel(directory: URL(fileURLWithPath: $0)) }
    }
}

/// The shared Silero VAD models, one per model folder.
public enum SharedVADModels {
    static let cache = ModelCache<SileroVADModel>()

    /// How many times a VAD model was read from disk in this process (for tests).
    public static var loads: Int { cache.loads }

    /// Resolves a node's `model:` option and loads it, with node-level errors.
    static func load(_ model: String) throws -> SileroVADModel {
        try cache.load(model) { try SileroVADModel(folder: URL(fileURLWithPath: $0)) }
    }
}

/// The 16 kHz mono samples of an audio packet, or a per-item error naming what is wrong.
func speechSamples(_ value: Value) throws -> (samples: [Float], start: Double) {
    guard let payload = value.audioPayload else { throw NodeError("expected audio, got \(value.kindName)") }
    let audio = payload.audio
    guard audio.sampleRate == WhisperMel.sampleRate, audio.channels == 1 else {
        throw NodeError(
            "expected 16000 Hz mono audio, got \(audio.sampleRate) Hz with \(audio.channels) channels "
                + "(decode with sample_rate: 16000, channels: 1)")
    }
    let real = max(0, audio.samples.count - payload.paddedFrames)
    return (Array(audio.samples.prefix(real)), payload.startTime)
}
