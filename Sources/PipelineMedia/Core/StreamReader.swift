import CFFmpeg

/// The demux-and-decode loop shared by the image, audio and video decoders.
///
/// It pulls packets of one stream into a `Decoder` and hands out decoded
/// frames one at a time, so memory stays bounded by the decoder's own delay.
/// With `strict` set, the first error FFmpeg reports while decoding ends the
/// stream with `MediaError.decodeFailed` carrying FFmpeg's message (frames
/// already handed out stay valid). Without it, damaged packets are skipped the
/// way the ffmpeg CLI skips them, and only a run of `maxConsecutiveErrors`
/// failures in a row ends decoding. Either way a corrupted file can neither
/// loop forever nor crash.
final class StreamReader {
    let demuxer: Demuxer
    let decoder: Decoder
    let streamIndex: Int32
    let stream: UnsafeMutablePointer<AVStream>
    private let packet = Packet()
    private var draining = false
    private(set) var finished = false
    /// The last FFmpeg error seen (0 if none), kept for "no frame decoded" reports.
    private(set) var lastError: Int32 = 0
    private var consecutiveErrors = 0
    /// When true, only packets flagged as keyframes are sent to the decoder.
    var keyframesOnly = false
    /// Errors in a row after which decoding gives up.
    var maxConsecutiveErrors = 64
    /// Fail on the first decode error instead of skipping damaged packets.
    var strict = false
    /// Decode errors seen so far (skipped when not strict).
    private(set) var errorCount = 0

    init(path: String, kind: MediaKind, threads: Int, allowAttachedPicture: Bool = false,
         configure: (UnsafeMutablePointer<AVCodecContext>) -> Void = { _ in }) throws {
        let demuxer = try Demuxer(path: path)
        let index = try demuxer.bestStream(kind, allowAttachedPicture: allowAttachedPicture)
        guard let st = demuxer.stream(index) else { throw MediaError.noStream(path: path, kind: kind) }
        // Other streams are not needed: let the demuxer drop them early.
        for i in 0..<Int32(demuxer.pointer.pointee.nb_streams) where i != index {
            demuxer.stream(i)?.pointee.discard = AVDISCARD_ALL
        }
        self.demuxer = demuxer
        self.streamIndex = index
        self.stream = st
        self.decoder = try Decoder(stream: st, path: path, threads: threads, configure: configure)
    }

    var path: String { demuxer.path }
    var timeBase: AVRational { stream.pointee.time_base }

    /// Decodes the next frame into `frame`; returns false at the end of the stream.
    func next(into frame: Frame) throws -> Bool {
        while !finished {
            let r = decoder.receive(into: frame)
            if r == 0 {
                consecutiveErrors = 0
                return true
            }
            if r == FFmpegCode.eof {
                finished = true
                return false
            }
            if r != FFmpegCode.again {
                try noteError(r)
                continue
            }
            if draining {
                // EAGAIN while draining should not happen; stop rather than spin.
                finished = true
                return false
            }
            let rr = demuxer.read(into: packet)
            if rr < 0 {
                // EOF, or an I/O error on a truncated file: decode what we have.
                if rr != FFmpegCode.eof { lastError = rr }
                _ = decoder.send(nil)
                draining = true
                continue
            }
            defer { packet.unref() }
            if packet.streamIndex != streamIndex { continue }
            if keyframesOnly && !packet.isKeyframe { continue }
            let s = decoder.send(packet)
            if s < 0 && s != FFmpegCode.again { try noteError(s) }
        }
        return false
    }

    /// Seeks to the keyframe at or before `seconds` and flushes the decoder.
    func seek(to seconds: Double) {
        if demuxer.seek(stream: streamIndex, to: seconds) >= 0 {
            decoder.flush()
            draining = false
            finished = false
        }
    }

    private func noteError(_ code: Int32) throws {
        lastError = code
        consecutiveErrors += 1
        errorCount += 1
        if strict || consecutiveErrors >= maxConsecutiveErrors {
            finished = true
            throw MediaError.decodeFailed(path: path, code: code, message: MediaError.message(for: code))
        }
    }

    /// The error to throw when the stream ended before yielding any frame.
    func noFrameError() -> MediaError {
        let code = lastError != 0 ? lastError : FFmpegCode.invalidData
        let message = lastError != 0 ? MediaError.message(for: code) : "no decodable frame in stream"
        return .decodeFailed(path: path, code: code, message: message)
    }
}
