import CFFmpeg

/// The swscale interpolation used for resizing and pixel-format conversion.
///
/// The flag is passed to `sws_getContext` as is, so results match the ffmpeg
/// CLI run with the same `-sws_flags` (the CLI's own default is `bicubic`).
/// `bilinear` is our default: cheap, smooth, and what most vision
/// preprocessing pipelines approximate.
public enum ScaleAlgorithm: String, Sendable, CaseIterable {
    case fastBilinear = "fast_bilinear"
    case bilinear
    case bicubic
    case neighbor
    case area
    case lanczos

    /// The `SWS_*` flag.
    public var swsFlag: Int32 {
        switch self {
        case .fastBilinear: return SWS_FAST_BILINEAR
        case .bilinear: return SWS_BILINEAR
        case .bicubic: return SWS_BICUBIC
        case .neighbor: return SWS_POINT
        case .area: return SWS_AREA
        case .lanczos: return SWS_LANCZOS
        }
    }
}
