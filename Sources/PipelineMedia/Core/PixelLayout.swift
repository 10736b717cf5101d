import CFFmpeg

/// A packed 8-bit pixel layout for output images.
public enum PixelLayout: Int, Sendable {
    /// One byte per pixel.
    case gray = 1
    /// R, G, B bytes.
    case rgb = 3
    /// R, G, B, A bytes.
    case rgba = 4

    /// Bytes per pixel.
    public var channels: Int { rawValue }

    /// The FFmpeg pixel format.
    var avFormat: AVPixelFormat {
        switch self {
        case .gray: return AV_PIX_FMT_GRAY8
        case .rgb: return AV_PIX_FMT_RGB24
        case .rgba: return AV_PIX_FMT_RGBA
        }
    }

    /// The layout for a channel count (1, 3 or 4).
    public init?(channels: Int) {
        self.init(rawValue: channels)
    }
}
