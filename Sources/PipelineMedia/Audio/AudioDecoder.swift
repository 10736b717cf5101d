import CFFmpeg

/// Options for decoding audio.
public struct AudioDecodeOptions: Sendable {
    /// Output sample rate; nil keeps the source rate.
    public var sampleRate: Int?
    /// Output channel count (1 = mono downmix, 2 = stereo, …); nil keeps the source count.
    public var channels: Int?
    /// Decoder threads (0 = FFmpeg chooses). Audio decoders rarely use more than one.
    public var threads: Int

    /// Fail on the first decode error (a truncated FLAC, a damaged MP3 frame)
    /// instead of skipping the damaged packet as the ffmpeg CLI does. Chunks
    /// returned before the error stay valid; the error ends the stream.
    public var strict: Bool

    /// Creates options; e.g. `AudioDecodeOptions(sampleRate: 16000, channels: 1)` for speech encoders.
    public init(sampleRate: Int? = nil, channels: Int? = nil, threads: Int = 1, strict: Bool = true) {
        self.sampleRate = sampleRate
        self.channels = channels
        self.threads = threads
        self.strict = strict
    }
}

/// Streaming audio decoder: any audio FFmpeg decodes (WAV, FLAC, MP3,
/// Vorbis, Opus, AAC, the audio track of a video) to float32 PCM at a
/// requested rate and channel count.
///
/// `next()` returns one chunk per decoded packet (a few thousand frames), so
/// memory stays bounded however long the file is; `readAll()` collects the
/// whole stream. Samples match `ffmpeg -i X -ar R -ac C -f f32le -`.
///
/// Not thread-safe: call it from one thread at a time. It is marked
/// `@unchecked Sendable` so that a node may hand it from one Dispatch
/// worker to the next between calls.
public final class AudioDecoder: @unchecked Sendable {
    /// The file being decoded.
    public let path: String
    /// Output sample rate.
    public let sampleRate: Int
    /// Output channel count.
    public let channels: Int
    /// Source sample rate.
    public let sourceSampleRate: Int
    /// Source channel count.
    public let sourceChannels: Int
    /// FFmpeg decoder name (e.g. `mp3float`, `flac`, `aac`).
    public let codecName: String
    /// Container duration in seconds, when known.
    public let duration: Double?
    /// Presentation time of the stream's first sample in seconds (`start_time`),
    /// when known. Chunk times count from the first decoded sample; add this
    /// to align them with video timestamps of the same file.
    public let streamStartTime: Double?

    private let reader: StreamReader
    private let frame = Frame()
    private var resampler: Resampler?
    private var framesOut = 0
    private var done = false
    private var decodedAny = false

    /// Opens the best audio stream of `path`.
    /// - Throws: `MediaError` (missing file, no audio stream, no decoder, …).
    public init(path: String, options: AudioDecodeOptions = AudioDecodeOptions()) throws {
        if let r = options.sampleRate, r <= 0 { throw MediaError.invalidArgument("sample rate \(r)") }
        if let c = options.channels, c <= 0 || c > 64 { throw MediaError.invalidArgument("channels \(c)") }
        reader = try StreamReader(path: path, kind: .audio, threads: options.threads)
        reader.strict = options.strict
        self.path = path
        let par = reader.stream.pointee.codecpar.pointee
        sourceSampleRate = Int(par.sample_rate)
        sourceChannels = Int(par.ch_layout.nb_channels)
        guard sourceSampleRate > 0 || options.sampleRate != nil else {
            throw MediaError.decodeFailed(path: path, code: FFmpegCode.invalidData, message: "audio stream has no sample rate")
        }
        sampleRate = options.sampleRate ?? sourceSampleRate
        channels = options.channels ?? max(1, sourceChannels)
        codecName = reader.decoder.codecName
        duration = reader.demuxer.duration
        streamStartTime = seconds(reader.stream.pointee.start_time, reader.stream.pointee.time_base)
    }

    /// The next chunk of converted samples, or nil at the end of the stream.
    /// - Throws: `MediaError.decodeFailed` when the stream is too damaged to go on
    ///   or had no decodable audio at all.
    public func next() throws -> AudioSamples? {
        while !done {
            guard try reader.next(into: frame) else {
                done = true
                if !decodedAny { throw reader.noFrameError() }
                if let r = resampler {
                    let tail = try r.convert(nil)
                    if !tail.isEmpty { return emit(tail) }
                }
                return nil
            }
            guard frame.sampleCount > 0 else { continue }
            decodedAny = true
            if let r = resampler, !r.accepts(frame) {
                // Format change mid-stream: flush the old resampler, then start anew.
                let tail = try r.convert(nil)
                resampler = try Resampler(like: frame, outputRate: sampleRate, outputChannels: channels, path: path)
                let head = try resampler!.convert(frame)
                let out = tail + head
                if !out.isEmpty { return emit(out) }
                continue
            }
            if resampler == nil {
                resampler = try Resampler(like: frame, outputRate: sampleRate, outputChannels: channels, path: path)
            }
            let out = try resampler!.convert(frame)
            if !out.isEmpty { return emit(out) }
        }
        return nil
    }

    private func emit(_ samples: [Float]) -> AudioSamples {
        let chunk = AudioSamples(samples: samples, sampleRate: sampleRate, channels: channels, startFrame: framesOut)
        framesOut += chunk.frameCount
        return chunk
    }

    /// Decodes the rest of the stream into one buffer.
    public func readAll() throws -> AudioSamples {
        var all: [Float] = []
        let start = framesOut
        while let c = try next() { all.append(contentsOf: c.samples) }
        return AudioSamples(samples: all, sampleRate: sampleRate, channels: channels, startFrame: start)
    }

    /// Decodes a whole file at once.
    public static func decode(path: String, options: AudioDecodeOptions = AudioDecodeOptions()) throws -> AudioSamples {
        try AudioDecoder(path: path, options: options).readAll()
    }
}
