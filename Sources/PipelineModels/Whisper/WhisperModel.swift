import Foundation

/// One 30-second window of a transcript.
public struct WhisperSegment: Sendable, Equatable {
    /// Seconds from the start of the audio.
    public var start: Double
    public var end: Double
    public var text: String
    /// The generated token ids (prompt and end-of-text excluded).
    public var tokens: [Int]
}

/// Whisper (CTranslate2 folder: `model.bin`, `config.json`, `vocabulary.txt`): log-mel
/// features, encoder, and greedy decoding with the English-only prompt
/// `<|startoftranscript|><|notimestamps|>`, suppressing tokens as CTranslate2 does by default
/// (`suppress_blank`, `suppress_tokens=[-1]`). Audio longer than 30 s is cut into consecutive
/// 30-second windows, each transcribed on its own.
public final class WhisperModel: Sendable {
    public let config: WhisperConfig
    public let mel: WhisperMel
    public let encoder: WhisperEncoder
    public let decoder: WhisperDecoder
    /// Token strings by id, in GPT-2's byte-level alphabet.
    public let vocabulary: [String]

    /// Loads the model folder `directory`.
    public init(directory: URL) throws {
        let file = try CT2File(path: directory.appendingPathComponent("model.bin").path)
        config = try WhisperConfig(file: file, configJSON: directory.appendingPathComponent("config.json"))
        mel = WhisperMel(melBands: config.melBands)
        encoder = try WhisperEncoder(file, config: config)
        decoder = try WhisperDecoder(file, config: config)
        let vocabPath = directory.appendingPathComponent("vocabulary.txt").path
        let text: String
        do { text = try String(contentsOfFile: vocabPath, encoding: .utf8) } catch {
            throw CT2Error.cannotOpen(path: vocabPath, reason: error.localizedDescription)
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        guard lines.count == config.vocabSize else {
            throw CT2Error.wrongShape(path: vocabPath, variable: "vocabulary", expected: [config.vocabSize], actual: [lines.count])
        }
        vocabulary = lines
    }

    /// The log-mel features `[melBands, 3000]` of one 30-second window (padded or trimmed).
    public func features(_ samples: ArraySlice<Float>) -> [Float] {
        mel.logMel(WhisperMel.window(samples)).features
    }

    /// Greedy token ids for one window's encoder states, end-of-text excluded.
    public func generate(encoded: [Float]) -> [Int] {
        let c = config
        var state = decoder.start(encoded: encoded)
        var logits: [Float] = []
        for token in [c.startOfTranscript, c.noTimestamps] { logits = decoder.step(token, state: &state) }
        var out: [Int] = []
        while true {
            for id in c.suppress where id >= 0 && id < logits.count { logits[id] = -.infinity }
            if out.isEmpty {
                for id in c.suppressAtBegin where id >= 0 && id < logits.count { logits[id] = -.infinity }
            }
            var best = 0
            for i in logits.indices where logits[i] > logits[best] { best = i }
            if best == c.endOfText { break }
            out.append(best)
            if state.length >= c.textContext { break }
            logits = decoder.step(best, state: &state)
        }
        return out
    }

    /// The text of token ids: byte-level tokens joined, special tokens (from end-of-text on)
    /// left out, invalid UTF-8 replaced.
    public func text(_ ids: [Int]) -> String {
        var bytes: [UInt8] = []
        for id in ids where id >= 0 && id < config.endOfText {
            bytes += ByteLevel.decode(vocabulary[id]) ?? []
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Transcribes 16 kHz mono samples window by window. Empty audio gives no segments.
    public func transcribe(_ samples: [Float]) -> [WhisperSegment] {
        var segments: [WhisperSegment] = []
        let rate = Double(WhisperMel.sampleRate)
        for start in stride(from: 0, to: samples.count, by: WhisperMel.windowSamples) {
            let end = min(samples.count, start + WhisperMel.windowSamples)
            let ids = generate(encoded: encoder.encode(features(samples[start..<end])))
            segments.append(WhisperSegment(start: Double(start) / rate, end: Double(end) / rate, text: text(ids), tokens: ids))
        }
        return segments
    }
}
