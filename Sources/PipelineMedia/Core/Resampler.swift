import CFFmpeg

/// An owned `SwrContext`: converts decoded audio to packed float32 at a
/// target rate and channel count with libswresample.
///
/// Settings are swresample's defaults, the same the ffmpeg CLI's automatic
/// `aresample` uses, so output matches `ffmpeg -ar R -ac C -f f32le`.
/// Channel mixing uses FFmpeg's default layout for the output count (mono,
/// stereo, …); an input whose layout is unspecified gets the default layout
/// for its channel count, as the CLI guesses it.
public final class Resampler {
    let pointer: OpaquePointer
    /// Input sample format (`AVSampleFormat` as `Int32`).
    public let inputFormat: Int32
    /// Input sample rate.
    public let inputRate: Int
    /// Input channel count.
    public let inputChannels: Int
    /// Output sample rate.
    public let outputRate: Int
    /// Output channel count.
    public let outputChannels: Int
    private var inputLayoutMask: UInt64
    private let path: String

    /// Creates a resampler for frames shaped like `frame`.
    public init(like frame: Frame, outputRate: Int, outputChannels: Int, path: String) throws {
        var inLayout = AVChannelLayout()
        let f = frame.pointer
        if f.pointee.ch_layout.order == AV_CHANNEL_ORDER_UNSPEC || f.pointee.ch_layout.nb_channels == 0 {
            av_channel_layout_default(&inLayout, max(1, f.pointee.ch_layout.nb_channels))
        } else {
            _ = av_channel_layout_copy(&inLayout, &f.pointee.ch_layout)
        }
        defer { av_channel_layout_uninit(&inLayout) }
        var outLayout = AVChannelLayout()
        av_channel_layout_default(&outLayout, Int32(outputChannels))
        defer { av_channel_layout_uninit(&outLayout) }

        var ctx: OpaquePointer? = nil
        var r = swr_alloc_set_opts2(&ctx, &outLayout, AV_SAMPLE_FMT_FLT, Int32(outputRate),
                                    &inLayout, AVSampleFormat(rawValue: f.pointee.format), f.pointee.sample_rate, 0, nil)
        if r >= 0, let c = ctx { r = swr_init(c) }
        guard r >= 0, let c = ctx else {
            if ctx != nil { swr_free(&ctx) }
            throw MediaError.resampleFailed(path: path, code: r, message: MediaError.message(for: r))
        }
        pointer = c
        inputFormat = f.pointee.format
        inputRate = Int(f.pointee.sample_rate)
        inputChannels = Int(f.pointee.ch_layout.nb_channels)
        inputLayoutMask = f.pointee.ch_layout.order == AV_CHANNEL_ORDER_NATIVE ? f.pointee.ch_layout.u.mask : 0
        self.outputRate = outputRate
        self.outputChannels = outputChannels
        self.path = path
    }

    deinit {
        var p: OpaquePointer? = pointer
        swr_free(&p)
    }

    /// Whether `frame` has the format, rate and layout this resampler was made for.
    func accepts(_ frame: Frame) -> Bool {
        let f = frame.pointer.pointee
        let mask = f.ch_layout.order == AV_CHANNEL_ORDER_NATIVE ? f.ch_layout.u.mask : 0
        return f.format == inputFormat && Int(f.sample_rate) == inputRate
            && Int(f.ch_layout.nb_channels) == inputChannels && mask == inputLayoutMask
    }

    /// Converts one frame (or, with nil, drains the delayed samples) into interleaved floats.
    public func convert(_ frame: Frame?) throws -> [Float] {
        let inSamples = frame.map { Int32($0.sampleCount) } ?? 0
        let capacity = Int(swr_get_out_samples(pointer, inSamples)) + 32
        guard capacity > 0 else { return [] }
        var produced: Int32 = 0
        let out = [Float](unsafeUninitializedCapacity: capacity * outputChannels) { buf, count in
            produced = buf.baseAddress!.withMemoryRebound(to: UInt8.self, capacity: capacity * outputChannels * 4) {
                cffmpeg_swr_convert_packed(pointer, frame?.pointer, $0, Int32(capacity))
            }
            count = max(0, Int(produced)) * outputChannels
        }
        if produced < 0 {
            throw MediaError.resampleFailed(path: path, code: produced, message: MediaError.message(for: produced))
        }
        return out
    }
}
