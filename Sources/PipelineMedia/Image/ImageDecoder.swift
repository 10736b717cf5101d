import CFFmpeg
import Foundation

/// Options for decoding a still image.
public struct ImageDecodeOptions: Sendable {
    /// The channel count of the result.
    public enum Channels: Sendable {
        /// RGBA when the file has alpha, RGB otherwise.
        case auto
        /// Always RGB (alpha dropped).
        case rgb
        /// Always RGBA (opaque alpha added when the file has none).
        case rgba
    }

    /// Which channels to return.
    public var channels: Channels
    /// Apply the EXIF orientation (JPEG) or display matrix so the image is upright.
    public var applyOrientation: Bool
    /// Interpolation used by the (same-size) pixel-format conversion; it matters
    /// for chroma upsampling of subsampled YUV (JPEG, WebP).
    public var algorithm: ScaleAlgorithm

    /// Reject damaged files (FFmpeg's `-err_detect explode`): a truncated JPEG
    /// fails instead of coming back with a grey bottom half. Not applied to
    /// TIFF, whose decoder rejects valid files under `explode` in FFmpeg 5.1.
    public var strict: Bool

    /// Creates options; defaults: auto channels, orientation applied, bilinear, strict.
    public init(channels: Channels = .auto, applyOrientation: Bool = true, algorithm: ScaleAlgorithm = .bilinear,
                strict: Bool = true) {
        self.channels = channels
        self.applyOrientation = applyOrientation
        self.algorithm = algorithm
        self.strict = strict
    }
}

/// Decodes still images (PNG, JPEG, BMP, WebP, TIFF, GIF's first frame, …)
/// with FFmpeg into 8-bit RGB or RGBA.
///
/// Any pixel format FFmpeg decodes (16-bit, gray, palette, alpha, YUV) is
/// converted with swscale to RGB24/RGBA exactly as `ffmpeg -pix_fmt rgb24`
/// does with the same `-sws_flags`.
public enum ImageDecoder {
    /// Codecs whose FFmpeg 5.1 decoders fail valid files under `AV_EF_EXPLODE`.
    static let explodeExempt: Set<UInt32> = [AV_CODEC_ID_TIFF.rawValue]

    /// Decodes the first frame of the image at `path`.
    /// - Throws: `MediaError` naming the file and FFmpeg's reason.
    public static func decode(path: String, options: ImageDecodeOptions = ImageDecodeOptions()) throws -> Image {
        let strict = options.strict
        // Cover art counts as an image: decoding an MP3's picture is legitimate.
        let reader = try StreamReader(path: path, kind: .video, threads: 1, allowAttachedPicture: true) { ctx in
            if strict && !ImageDecoder.explodeExempt.contains(ctx.pointee.codec_id.rawValue) {
                ctx.pointee.err_recognition |= AV_EF_EXPLODE
            }
        }
        reader.strict = strict
        let frame = Frame()
        guard try reader.next(into: frame) else { throw reader.noFrameError() }
        let f = frame.pointer.pointee
        guard f.width > 0, f.height > 0 else { throw reader.noFrameError() }
        let hasAlpha = cffmpeg_pix_fmt_has_alpha(f.format) != 0
        let layout: PixelLayout
        switch options.channels {
        case .auto: layout = hasAlpha ? .rgba : .rgb
        case .rgb: layout = .rgb
        case .rgba: layout = .rgba
        }
        let scaler = try Scaler.reusing(nil, frame: frame, dstWidth: Int(f.width), dstHeight: Int(f.height),
                                        dstFormat: layout.avFormat.rawValue, algorithm: options.algorithm, path: path)
        let pixels = try scaler.scale(frame: frame, channels: layout.channels)

        var orientation = ImageOrientation(metadataValue: cffmpeg_frame_metadata(frame.pointer, "Orientation").map { String(cString: $0) })
        if orientation == .up {
            var rotation = 0.0
            var hflip: Int32 = 0
            if cffmpeg_display_matrix(frame.pointer, reader.stream, &rotation, &hflip) != 0 {
                orientation = ImageOrientation(rotationDegrees: rotation, hflip: hflip != 0)
            }
        }
        let fmtName = av_get_pix_fmt_name(AVPixelFormat(rawValue: f.format)).map { String(cString: $0) } ?? "unknown"
        let source = ImageSource(path: path, codec: reader.decoder.codecName, pixelFormat: fmtName,
                                 storedWidth: Int(f.width), storedHeight: Int(f.height),
                                 bitDepth: Int(cffmpeg_pix_fmt_depth(f.format)), hasAlpha: hasAlpha,
                                 orientation: orientation, orientationApplied: false)
        let image = Image(width: Int(f.width), height: Int(f.height), channels: layout.channels, pixels: pixels, source: source)
        return options.applyOrientation ? orientation.apply(to: image) : image
    }
}
