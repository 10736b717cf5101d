import CFFmpeg
import Foundation

/// Encodes images to PNG or JPEG with FFmpeg's encoders, for inspection.
public enum ImageWriter {
    /// Encodes `image` and returns the file bytes.
    /// - Parameter quality: JPEG quality 1…100 (mapped to mjpeg's qscale 31…2); ignored for PNG.
    public static func encode(_ image: Image, format: ImageFileFormat, quality: Int = 90, path: String = "") throws -> [UInt8] {
        guard image.width > 0, image.height > 0, [1, 3, 4].contains(image.channels) else {
            throw MediaError.invalidArgument("cannot encode a \(image.width)x\(image.height)x\(image.channels) image")
        }
        let codecID = format == .png ? AV_CODEC_ID_PNG : AV_CODEC_ID_MJPEG
        guard let codec = avcodec_find_encoder(codecID) else {
            throw MediaError.encodeFailed(path: path, code: cffmpeg_averror_encoder_not_found(),
                                          message: "no \(format.rawValue) encoder in this FFmpeg build")
        }
        let encoderFormat: AVPixelFormat
        switch format {
        case .png: encoderFormat = image.layout.avFormat
        case .jpeg: encoderFormat = AV_PIX_FMT_YUVJ420P
        }
        // JPEG has no alpha: drop it before conversion.
        let input = (format == .jpeg && image.channels == 4) ? image.withChannels(3) : image
        guard let ctxPtr = avcodec_alloc_context3(codec) else { fatalError("avcodec_alloc_context3: out of memory") }
        var ctx: UnsafeMutablePointer<AVCodecContext>? = ctxPtr
        defer { avcodec_free_context(&ctx) }
        ctxPtr.pointee.width = Int32(input.width)
        ctxPtr.pointee.height = Int32(input.height)
        ctxPtr.pointee.pix_fmt = encoderFormat
        ctxPtr.pointee.time_base = AVRational(num: 1, den: 25)
        let q: Int = max(1, min(100, quality))
        let qscaleInt: Int = 31 - (q - 1) * 29 / 99
        let qscale = Int32(max(2, min(31, qscaleInt)))
        if format == .jpeg {
            ctxPtr.pointee.color_range = AVCOL_RANGE_JPEG
            ctxPtr.pointee.flags |= AV_CODEC_FLAG_QSCALE
            ctxPtr.pointee.global_quality = FF_QP2LAMBDA * qscale
        }
        var r = avcodec_open2(ctxPtr, codec, nil)
        guard r >= 0 else { throw MediaError.encodeFailed(path: path, code: r, message: MediaError.message(for: r)) }

        let frame = Frame()
        frame.pointer.pointee.format = encoderFormat.rawValue
        frame.pointer.pointee.width = Int32(input.width)
        frame.pointer.pointee.height = Int32(input.height)
        frame.pointer.pointee.pts = 0
        if format == .jpeg {
            frame.pointer.pointee.quality = ctxPtr.pointee.global_quality
            frame.pointer.pointee.color_range = AVCOL_RANGE_JPEG
        }
        r = av_frame_get_buffer(frame.pointer, 0)
        guard r >= 0 else { throw MediaError.encodeFailed(path: path, code: r, message: MediaError.message(for: r)) }
        let scaler = try Scaler(srcWidth: input.width, srcHeight: input.height, srcFormat: input.layout.avFormat.rawValue,
                                dstWidth: input.width, dstHeight: input.height, dstFormat: encoderFormat.rawValue,
                                algorithm: .bilinear, path: path)
        scaler.scale(packed: input.pixels, srcChannels: input.channels, into: frame)

        var bytes: [UInt8] = []
        let packet = Packet()
        for send in [frame as Frame?, nil] {
            r = avcodec_send_frame(ctxPtr, send?.pointer)
            guard r >= 0 else { throw MediaError.encodeFailed(path: path, code: r, message: MediaError.message(for: r)) }
            while true {
                let rr = avcodec_receive_packet(ctxPtr, packet.pointer)
                if rr == FFmpegCode.again || rr == FFmpegCode.eof { break }
                guard rr >= 0 else { throw MediaError.encodeFailed(path: path, code: rr, message: MediaError.message(for: rr)) }
                let p = packet.pointer.pointee
                bytes.append(contentsOf: UnsafeBufferPointer(start: p.data, count: Int(p.size)))
                packet.unref()
            }
        }
        return bytes
    }

    /// Encodes `image` and writes it atomically (temp file + rename) to `path`.
    /// - Parameter format: nil picks it from the extension (`.png`, `.jpg`, `.jpeg`).
    public static func write(_ image: Image, to path: String, format: ImageFileFormat? = nil, quality: Int = 90) throws {
        let ext = URL(fileURLWithPath: path).pathExtension
        guard let fmt = format ?? ImageFileFormat(pathExtension: ext) else {
            throw MediaError.invalidArgument("\(path): unknown image extension '\(ext)' (use .png, .jpg or .jpeg)")
        }
        let bytes = try encode(image, format: fmt, quality: quality, path: path)
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw MediaError.writeFailed(path: path, message: "\(error.localizedDescription)")
        }
    }
}
