import CFFmpeg

/// An owned `AVFrame` (freed with `av_frame_free` on deinit).
///
/// A frame is reused across decode calls: `avcodec_receive_frame` unrefs it
/// before writing, so one `Frame` per decoder is enough.
public final class Frame {
    /// The underlying FFmpeg frame.
    public let pointer: UnsafeMutablePointer<AVFrame>

    /// Allocates an empty frame.
    public init() {
        guard let p = av_frame_alloc() else { fatalError("av_frame_alloc: out of memory") }
        pointer = p
    }

    deinit {
        var p: UnsafeMutablePointer<AVFrame>? = pointer
        av_frame_free(&p)
    }

    /// Drops the frame's buffers, keeping the frame for reuse.
    public func unref() { av_frame_unref(pointer) }

    /// Width in pixels (video).
    public var width: Int { Int(pointer.pointee.width) }
    /// Height in pixels (video).
    public var height: Int { Int(pointer.pointee.height) }
    /// Pixel or sample format as FFmpeg's integer (`AVPixelFormat` / `AVSampleFormat`).
    public var format: Int32 { pointer.pointee.format }
    /// Samples per channel (audio).
    public var sampleCount: Int { Int(pointer.pointee.nb_samples) }
    /// `best_effort_timestamp`, the timestamp FFmpeg's tools use for presentation.
    public var bestEffortTimestamp: Int64 { pointer.pointee.best_effort_timestamp }
    /// Whether the decoder marked the frame as a keyframe.
    public var isKeyframe: Bool { pointer.pointee.key_frame != 0 }
}
