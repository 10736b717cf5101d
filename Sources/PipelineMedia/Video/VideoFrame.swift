/// One decoded, scaled video frame with its presentation time.
public struct VideoFrame: Sendable, Equatable {
    /// The packed pixels (RGB24 by default).
    public var image: Image
    /// Presentation time in seconds (`best_effort_timestamp × time_base`, as
    /// ffprobe's `best_effort_timestamp_time`); nil when the stream has none.
    public var pts: Double?
    /// Index of this frame among all decoded frames of the stream (0-based,
    /// counted from the seek point when a time range starts later).
    public var decodedIndex: Int
    /// Whether the decoder marked the frame as a keyframe.
    public var isKeyframe: Bool
}
