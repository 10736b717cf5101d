import PipelineCore
import PipelineMedia

/// Decodes the audio of a file (WAV, FLAC, MP3, Ogg, Opus, AAC, or a video's audio track),
/// resamples it, and emits fixed windows as they are decoded.
///
/// Window k starts at `k * hop` seconds; its packet has sequence k and timestamp equal to
/// its start. Only one window and one decoded chunk are held at a time, so memory does not
/// grow with the file's length, and a slow consumer holds the decoder back.
final class AudioDecode: PipelineNode {
    static let type = "audio.decode"
    static let summary = "Decodes audio (or a video's audio track) to float PCM windows at a chosen rate and channel count."
    static let inputs = [PortSpec("path", .path)]
    static let outputs = [
        PortSpec("audio", .audio, doc: "one window per packet; sequence = window number, timestamp = window start (s)"),
    ]
    static let options = [
        OptionSpec("sample_rate", .int, default: 16000, range: 0...768_000, doc: "output rate in Hz (0: the file's rate)"),
        OptionSpec("channels", .int, default: 1, range: 0...64, doc: "output channels; 1 mixes down to mono (0: the file's channels)"),
        OptionSpec("window", .double, default: 1.0, range: 0.001...86400, doc: "window length in seconds"),
        OptionSpec("hop", .double, default: 0.0, range: 0...86400,
            doc: "seconds between window starts (0: the window length, no overlap; less than window: overlapping windows)"),
        OptionSpec("last", .choice(["pad", "partial", "drop"]), default: "pad",
            doc: "a last window the audio does not fill: zero-pad it, emit it shorter, or drop it"),
        OptionSpec("strict", .bool, default: true, doc: "fail a damaged stream instead of skipping bad packets"),
    ]
    static let example = """
        - id: audio
          type: audio.decode
          inputs: { path: src.path }
          with: { sample_rate: 16000, channels: 1, window: 30, hop: 25 }
        """

    private let decodeOptions: AudioDecodeOptions
    private let window: Double
    private let hop: Double
    private let last: AudioWindows.LastWindow

    init(options: Options, context: NodeContext) throws {
        MediaSupport.configureLogging
        let rate = options.int("sample_rate")!, channels = options.int("channels")!
        decodeOptions = AudioDecodeOptions(sampleRate: rate == 0 ? nil : rate, channels: channels == 0 ? nil : channels,
                                           strict: options.bool("strict")!)
        window = options.double("window")!
        let hop = options.double("hop")!
        self.hop = hop == 0 ? window : hop
        switch options.string("last")! {
        case "partial": last = .partial
        case "drop": last = .drop
        default: last = .pad
        }
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        let path = try MediaSupport.path(input)
        let windows = try MediaSupport.attempt(path) {
            let decoder = try AudioDecoder(path: path, options: decodeOptions)
            let frames = max(1, Int((window * Double(decoder.sampleRate)).rounded()))
            let hopFrames = max(1, Int((hop * Double(decoder.sampleRate)).rounded()))
            return try AudioWindows(decoder: decoder, windowFrames: frames, hopFrames: hopFrames, last: last)
        }
        while let w = try MediaSupport.attempt(path, { try windows.next() }) {
            let payload = AudioPayload(audio: w.audio, path: path, window: w.index, paddedFrames: w.paddedFrames)
            try output.emit(.payload(payload), sequence: w.index, timestamp: w.audio.startTime)
        }
    }
}
