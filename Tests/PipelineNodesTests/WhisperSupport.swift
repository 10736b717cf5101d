import Foundation
import PipelineMedia
import PipelineModels
import Testing

/// The folder scripts/fetch-models fills.
let speechModelFolder = ProcessInfo.processInfo.environment["PIPELINE_MODELS"]
    ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/pipeline/models").path

/// True when the real-weight Whisper tests can run (or must, in CI, which installs the models).
let whisperAvailable = FileManager.default.fileExists(atPath: speechModelFolder + "/whisper-tiny.en/model.bin")
    || ProcessInfo.processInfo.environment["CI"] != nil

/// Whisper tiny.en, loaded once per test process.
enum WhisperFixture {
    static let model: Result<WhisperModel, any Error> = Result {
        try WhisperModel(directory: URL(fileURLWithPath: speechModelFolder + "/whisper-tiny.en"))
    }
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/whisper")

    /// A golden clip decoded as the nodes decode it: 16 kHz mono float.
    static func clip(_ name: String) throws -> [Float] {
        try AudioDecoder.decode(
            path: golden.appendingPathComponent("clips/\(name).flac").path,
            options: AudioDecodeOptions(sampleRate: 16000, channels: 1)
        ).samples
    }

    static func load<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(contentsOf: golden.appendingPathComponent(name)))
    }

    /// Frames (or rows) of a reference tensor.
    struct Excerpt: Decodable {
        let frames: [Int]?
        let rows: [Int]?
        let values: [[Float]]
    }
    struct Transcript: Decodable {
        struct Window: Decodable {
            let ids: [Int]
            let text: String
        }
        let spoken: String
        let samples: Int
        let windows: [Window]
    }
}
