import CFFmpeg

/// An owned, opened `AVCodecContext` decoding one stream of a `Demuxer`.
public final class Decoder {
    /// The underlying FFmpeg codec context.
    public let pointer: UnsafeMutablePointer<AVCodecContext>
    /// Short name of the decoder (e.g. `h264`, `mp3float`).
    public let codecName: String

    /// Opens the default decoder for a stream.
    /// - Parameters:
    ///   - stream: the stream whose `codecpar` configures the decoder.
    ///   - path: the file, for error messages.
    ///   - threads: decoder threads; 0 lets FFmpeg choose (one per core), 1 disables threading.
    ///   - configure: a last chance to set fields (e.g. `skip_frame`) before `avcodec_open2`.
    public init(
        stream: UnsafeMutablePointer<AVStream>, path: String, threads: Int,
        configure: (UnsafeMutablePointer<AVCodecContext>) -> Void = { _ in }
    ) throws {
        let par = stream.pointee.codecpar!
        let idName = String(cString: avcodec_get_name(par.pointee.codec_id))
        guard let codec = avcodec_find_decoder(par.pointee.codec_id) else {
            throw MediaError.decoderNotFound(path: path, codec: idName)
        }
        guard let ctx = avcodec_alloc_context3(codec) else { fatalError("avcodec_alloc_context3: out of memory") }
        pointer = ctx
        codecName = String(cString: codec.pointee.name)
        var r = avcodec_parameters_to_context(ctx, par)
        if r >= 0 {
            ctx.pointee.pkt_timebase = stream.pointee.time_base
            ctx.pointee.thread_count = Int32(max(0, threads))
            ctx.pointee.thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE
            configure(ctx)
            r = avcodec_open2(ctx, codec, nil)
        }
        if r < 0 {
            // Every stored property is set, so deinit runs on this throw and frees ctx.
            throw MediaError.decoderOpenFailed(path: path, codec: codecName, code: r, message: MediaError.message(for: r))
        }
    }

    deinit {
        var p: UnsafeMutablePointer<AVCodecContext>? = pointer
        avcodec_free_context(&p)
    }

    /// Sends a packet (or nil to start draining); returns FFmpeg's result.
    public func send(_ packet: Packet?) -> Int32 {
        avcodec_send_packet(pointer, packet?.pointer)
    }

    /// Receives a decoded frame; returns 0, `AVERROR(EAGAIN)`, `AVERROR_EOF` or an error.
    public func receive(into frame: Frame) -> Int32 {
        avcodec_receive_frame(pointer, frame.pointer)
    }

    /// Drops buffered frames (after a seek).
    public func flush() { avcodec_flush_buffers(pointer) }
}
