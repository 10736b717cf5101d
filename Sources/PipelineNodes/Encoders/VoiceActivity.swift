import PipelineCore
import PipelineMedia
import PipelineModels

/// Finds the speech in 16 kHz mono audio with Silero VAD and cuts it out: a speech
/// probability per 32 ms chunk, turned into segments exactly as silero-vad's
/// `get_speech_timestamps` does (same options, same defaults).
///
/// Each input packet is one clip on its own (the model state starts fresh): decode with a
/// window longer than the recordings (`window: 86400, last: partial`) for one record per
/// file. Times are seconds from the start of the file (the packet's start added).
final class VoiceActivity: PipelineNode {
    static let type = "audio.vad"
    static let summary = "Speech segments of 16 kHz mono audio with Silero VAD (silero-vad's get_speech_timestamps)."
    static let inputs = [PortSpec("audio", .audio, doc: "16 kHz mono (audio.decode with sample_rate: 16000, channels: 1)")]
    static let outputs = [
        PortSpec("segments", .json, doc: "one record per input packet: {path, duration, segments: [{start, end}]} in seconds"),
        PortSpec("speech", .audio,
            doc: "one packet per segment, its samples cut out; timestamp = segment start (s); "
                + "sequence = input sequence × 100000 + segment number"),
    ]
    static let options = [
        OptionSpec("model", .string, default: "silero-vad", doc: "a name in the model folder, or a path to one"),
        OptionSpec("threshold", .double, default: 0.5, range: 0...1, doc: "speech probability at or above which a chunk is speech"),
        OptionSpec("min_speech_ms", .double, default: 250, range: 0...3_600_000, doc: "segments not longer than this are dropped"),
        OptionSpec("min_silence_ms", .double, default: 100, range: 0...3_600_000, doc: "silence that ends a segment"),
        OptionSpec("speech_pad_ms", .double, default: 30, range: 0...60_000, doc: "padding added to both ends of a segment"),
        OptionSpec("max_speech_s", .double, default: 0, range: 0...86_400,
            doc: "split segments longer than this, at their longest silence if any (0: no limit)"),
    ]
    static let example = """
        - id: vad
          type: audio.vad
          inputs: { audio: decode.audio }
          with: { min_silence_ms: 300 }
        """

    /// Speech packets of one input take sequences `input × stride + n`.
    static let sequenceStride = 100_000

    private let model: SileroVADModel
    private let segmentOptions: SpeechTimestampOptions

    init(options: Options, context: NodeContext) throws {
        var settings = SpeechTimestampOptions()
        settings.threshold = options.double("threshold") ?? 0.5
        settings.minSpeechMilliseconds = options.double("min_speech_ms") ?? 250
        settings.minSilenceMilliseconds = options.double("min_silence_ms") ?? 100
        settings.speechPadMilliseconds = options.double("speech_pad_ms") ?? 30
        let maxSpeech = options.double("max_speech_s") ?? 0
        settings.maxSpeechSeconds = maxSpeech > 0 ? maxSpeech : .infinity
        segmentOptions = settings
        model = try SharedVADModels.load(options.string("model") ?? "silero-vad")
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        let (samples, start) = try speechSamples(input.value)
        let payload = input.value.audioPayload
        let rate = Double(SileroVADModel.sampleRate)
        let segments = SpeechTimestamps.segments(
            probabilities: model.probabilities(samples), sampleCount: samples.count, options: segmentOptions)
        var record: [String: Value] = [
            "duration": .double(Double(samples.count) / rate),
            "segments": .array(segments.map {
                .object(["start": .double(start + Double($0.start) / rate), "end": .double(start + Double($0.end) / rate)])
            }),
        ]
        if let path = payload?.path { record["path"] = .string(path) }
        try output.emit(.object(record), to: "segments")
        let firstFrame = payload?.audio.startFrame ?? 0
        for (n, segment) in segments.enumerated() {
            let audio = AudioSamples(
                samples: Array(samples[segment.start..<segment.end]), sampleRate: SileroVADModel.sampleRate, channels: 1,
                startFrame: firstFrame + segment.start)
            try output.emit(
                .payload(AudioPayload(audio: audio, path: payload?.path, window: n)), to: "speech",
                sequence: input.sequence * Self.sequenceStride + n, timestamp: audio.startTime)
        }
    }
}
