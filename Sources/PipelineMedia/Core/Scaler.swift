import CFFmpeg

/// An owned `SwsContext`: converts and resizes pictures with swscale.
///
/// The context is created for one source geometry/format and one destination
/// geometry/format; `Scaler.reusing` keeps it while frames keep the same
/// shape, which is what makes per-frame video scaling cheap.
///
/// Colour handling copies the ffmpeg CLI's `scale` filter so that output
/// matches `ffmpeg -pix_fmt rgb24` exactly: the YUV→RGB matrix is taken from
/// the frame's `colorspace` (BT.601 when unspecified) and the input range
/// from its `color_range` (full range for `yuvj*`).
public final class Scaler {
    let pointer: OpaquePointer
    /// Source width, height and format.
    public let source: (width: Int, height: Int, format: Int32)
    /// Destination width, height and format.
    public let destination: (width: Int, height: Int, format: Int32)
    /// The interpolation.
    public let algorithm: ScaleAlgorithm
    let colorspace: Int32
    let colorRange: Int32
    let path: String

    /// Slice threads used by `scale(frame:channels:)` (1 = none).
    public let threads: Int
    /// Scratch frame for threaded scaling (`sws_scale_frame` writes into refcounted frames).
    private lazy var scratch = Frame()

    /// Creates a scaler.
    /// - Parameters:
    ///   - colorspace: `AVColorSpace` of the source (as `Int32`), 2 (unspecified) when unknown.
    ///   - colorRange: `AVColorRange` of the source (as `Int32`), 0 when unknown.
    ///   - threads: swscale slice threads for frame scaling (FFmpeg 5's `threads`
    ///     option, as the CLI's scale filter uses); 1 scales on the calling thread.
    ///     The output is identical either way.
    public init(
        srcWidth: Int, srcHeight: Int, srcFormat: Int32,
        dstWidth: Int, dstHeight: Int, dstFormat: Int32,
        algorithm: ScaleAlgorithm, colorspace: Int32 = 2, colorRange: Int32 = 0, threads: Int = 1, path: String = ""
    ) throws {
        guard srcWidth > 0, srcHeight > 0, dstWidth > 0, dstHeight > 0 else {
            throw MediaError.scaleFailed(path: path, message: "bad size \(srcWidth)x\(srcHeight) -> \(dstWidth)x\(dstHeight)")
        }
        let made: OpaquePointer?
        if threads > 1 {
            made = cffmpeg_sws_create(Int32(srcWidth), Int32(srcHeight), srcFormat, Int32(dstWidth), Int32(dstHeight),
                                      dstFormat, algorithm.swsFlag, Int32(threads))
        } else {
            made = sws_getContext(
                Int32(srcWidth), Int32(srcHeight), AVPixelFormat(rawValue: srcFormat),
                Int32(dstWidth), Int32(dstHeight), AVPixelFormat(rawValue: dstFormat),
                algorithm.swsFlag, nil, nil, nil)
        }
        guard let ctx = made else {
            let name = av_get_pix_fmt_name(AVPixelFormat(rawValue: srcFormat)).map { String(cString: $0) } ?? "\(srcFormat)"
            throw MediaError.scaleFailed(path: path, message: "swscale cannot convert \(name) \(srcWidth)x\(srcHeight)")
        }
        pointer = ctx
        source = (srcWidth, srcHeight, srcFormat)
        destination = (dstWidth, dstHeight, dstFormat)
        self.algorithm = algorithm
        self.colorspace = colorspace
        self.colorRange = colorRange
        self.threads = max(1, threads)
        self.path = path
        applyColorDetails()
    }

    deinit { sws_freeContext(pointer) }

    /// Mirrors vf_scale: matrix from the frame's colorspace, range from its color_range.
    private func applyColorDetails() {
        var invTable: UnsafeMutablePointer<Int32>? = nil
        var table: UnsafeMutablePointer<Int32>? = nil
        var srcRange: Int32 = 0, dstRange: Int32 = 0
        var brightness: Int32 = 0, contrast: Int32 = 0, saturation: Int32 = 0
        let r = sws_getColorspaceDetails(pointer, &invTable, &srcRange, &table, &dstRange,
                                         &brightness, &contrast, &saturation)
        guard r >= 0 else { return }  // not a YUV<->RGB conversion
        let coefficients = sws_getCoefficients(colorspace)
        if colorRange == AVCOL_RANGE_JPEG.rawValue {
            srcRange = 1
        } else if colorRange == AVCOL_RANGE_MPEG.rawValue {
            srcRange = 0
        }
        _ = sws_setColorspaceDetails(pointer, coefficients, srcRange, coefficients, dstRange,
                                     brightness, contrast, saturation)
    }

    /// Whether this scaler fits a frame of the given shape.
    func matches(width: Int, height: Int, format: Int32, colorspace: Int32, colorRange: Int32) -> Bool {
        source.width == width && source.height == height && source.format == format
            && self.colorspace == colorspace && self.colorRange == colorRange
    }

    /// Returns `existing` when it fits a frame with this shape, otherwise a new scaler.
    static func reusing(
        _ existing: Scaler?, frame: Frame, dstWidth: Int, dstHeight: Int, dstFormat: Int32,
        algorithm: ScaleAlgorithm, threads: Int = 1, path: String
    ) throws -> Scaler {
        let f = frame.pointer.pointee
        let cs = Int32(bitPattern: f.colorspace.rawValue)
        let cr = Int32(bitPattern: f.color_range.rawValue)
        if let s = existing, s.matches(width: Int(f.width), height: Int(f.height), format: f.format,
                                       colorspace: cs, colorRange: cr),
           s.destination.width == dstWidth, s.destination.height == dstHeight,
           s.destination.format == dstFormat, s.algorithm == algorithm {
            return s
        }
        return try Scaler(srcWidth: Int(f.width), srcHeight: Int(f.height), srcFormat: f.format,
                          dstWidth: dstWidth, dstHeight: dstHeight, dstFormat: dstFormat,
                          algorithm: algorithm, colorspace: cs, colorRange: cr, threads: threads, path: path)
    }

    /// Scales a decoded frame into a new packed buffer of `destination` size.
    /// - Throws: `MediaError.scaleFailed` when swscale writes no rows.
    func scale(frame: Frame, channels: Int) throws -> [UInt8] {
        let stride = destination.width * channels
        var rows: Int32 = 0
        let out = [UInt8](unsafeUninitializedCapacity: stride * destination.height) { buf, count in
            buf.initialize(repeating: 0)
            if threads > 1 {
                rows = cffmpeg_sws_frame_to_packed_threaded(pointer, frame.pointer, scratch.pointer, buf.baseAddress,
                                                            Int32(stride), Int32(stride), Int32(destination.height))
            } else {
                rows = cffmpeg_sws_frame_to_packed(pointer, frame.pointer, buf.baseAddress, Int32(stride))
            }
            count = stride * destination.height
        }
        guard rows > 0 else { throw MediaError.scaleFailed(path: path, message: "swscale returned \(rows)") }
        return out
    }

    /// Scales a packed buffer (`source` shape) into a new packed buffer of `destination` shape.
    func scale(packed src: [UInt8], srcChannels: Int, dstChannels: Int) -> [UInt8] {
        let dstStride = destination.width * dstChannels
        return src.withUnsafeBufferPointer { s in
            [UInt8](unsafeUninitializedCapacity: dstStride * destination.height) { buf, count in
                _ = cffmpeg_sws_packed_to_packed(pointer, s.baseAddress, Int32(source.width * srcChannels),
                                                 Int32(source.height), buf.baseAddress, Int32(dstStride))
                count = dstStride * destination.height
            }
        }
    }

    /// Scales a packed buffer into an allocated frame (used by the encoders).
    func scale(packed src: [UInt8], srcChannels: Int, into frame: Frame) {
        src.withUnsafeBufferPointer { s in
            _ = cffmpeg_sws_packed_to_frame(pointer, s.baseAddress, Int32(source.width * srcChannels),
                                            Int32(source.height), frame.pointer)
        }
    }
}
