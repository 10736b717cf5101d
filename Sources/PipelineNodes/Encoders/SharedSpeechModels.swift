import Foundation
import PipelineCore
import PipelineMedia
import PipelineModels
import Synchronization

/// The process-wide cache of loaded Whisper models, keyed by resolved model folder, as
/// `SharedEncoders` is for text encoders: every node and copy naming a model shares one set
/// of weights, loaded once even when several copies start together.
public enum SharedSpeechModels {
    /// One model's slot: its own lock, so loading one model does not hold up another.
    private final class Slot: Sendable {
        let model = Mutex<WhisperModel?>(nil)
    }

    private static let slots = Mutex<[String: Slot]>([:])
    private static let loadCount = Atomic<Int>(0)

    /// How many times a model was read from disk in this process (for tests).
    public static var loads: Int { loadCount.load(ordering: .relaxed) }

    /// The Whisper model for the folder at `path`, loading it on first use.
    public static func whisper(at path: String) throws -> WhisperModel {
        let key = URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path
        let slot = slots.withLock { slots in
            if let slot = slots[key] { return slot }
            let slot = Slot()
            slots[key] = slot
            return slot
        }
        return try slot.model.withLock { cached in
            if let cached { return cached }
            let model = try WhisperModel(directory: URL(fileURLWithPath: key))
            loadCount.add(1, ordering: .relaxed)
            cached = model
            return model
        }
    }

    /// Resolves a node's `model:` option and loads it, with node-level errors.
    static func load(_ model: String) throws -> WhisperModel {
        do {
            return try whisper(at: try ModelLocator.resolve(model))
        } catch let error as NodeError {
            throw error
        } catch {
            throw NodeError("cannot load model '\(model)': \(error)")
        }
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
