/// Which decoded frames a `VideoDecoder` returns.
public enum VideoSampling: Sendable, Equatable {
    /// Every frame.
    case all
    /// About `fps` frames per second: the first frame at or after each tick
    /// `start + k / fps` (ticks with no frame of their own are skipped, so a
    /// frame is never returned twice).
    case fps(Double)
    /// Frames 0, n, 2n, … (counted after the time range is applied).
    case everyNth(Int)
    /// Only keyframes; non-key packets are not even decoded, which makes this fast.
    case keyframes
}
