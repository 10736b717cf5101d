import Foundation
import PipelineCore
import PipelineModels

/// Transcribes English speech with Whisper tiny.en: greedy decoding per 30-second window, as
/// CTranslate2 does with its defaults. Emits `{text, segments: [{start, end, text}]}`, times
/// in seconds from the start of the file. Silence or very short audio gives whatever the
/// model reads in it (often an empty text); empty audio gives `{text: "", segments: []}`.
final class WhisperTranscribe: PipelineNode {
    static let type = "asr.whisper"
    static let summary = "Speech to text with Whisper tiny.en (greedy, 30 s windows)."
    static let inputs = [PortSpec("audio", .audio, doc: "16 kHz mono (audio.decode with sample_rate: 16000, channels: 1)")]
    static let outputs = [PortSpec("transcript", .json, doc: "{text, segments: [{start, end, text}]}")]
    static let options = [
        OptionSpec("model", .string, default: "whisper-tiny.en", doc: "a name in the model folder, or a path to one"),
        OptionSpec("tokens", .bool, default: false, doc: "add each segment's token ids"),
    ]
    static let example = """
        - id: asr
          type: asr.whisper
          inputs: { audio: decode.audio }
        """

    private let model: WhisperModel
    private let tokens: Bool

    init(options: Options, context: NodeContext) throws {
        model = try SharedSpeechModels.load(options.string("model") ?? "whisper-tiny.en")
        tokens = options.bool("tokens") ?? false
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        let (samples, start) = try speechSamples(input.value)
        let segments = model.transcribe(samples)
        let values: [Value] = segments.map { s in
            var fields: [String: Value] = [
                "start": .double(start + s.start), "end": .double(start + s.end),
                "text": .string(s.text.trimmingCharacters(in: .whitespaces)),
            ]
            if tokens { fields["tokens"] = .array(s.tokens.map { .int($0) }) }
            return .object(fields)
        }
        let text = segments.map { $0.text.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: " ")
        var record: [String: Value] = ["text": .string(text), "segments": .array(values)]
        if let path = input.value.audioPayload?.path { record["path"] = .string(path) }
        try output.emit(.object(record))
    }
}
