import CFFmpeg

/// An owned `AVPacket` (freed with `av_packet_free` on deinit), reused across reads.
public final class Packet {
    /// The underlying FFmpeg packet.
    public let pointer: UnsafeMutablePointer<AVPacket>

    /// Allocates an empty packet.
    public init() {
        guard let p = av_packet_alloc() else { fatalError("av_packet_alloc: out of memory") }
        pointer = p
    }

    deinit {
        var p: UnsafeMutablePointer<AVPacket>? = pointer
        av_packet_free(&p)
    }

    /// Drops the packet's data, keeping the packet for reuse.
    public func unref() { av_packet_unref(pointer) }

    /// Index of the stream the packet belongs to.
    public var streamIndex: Int32 { pointer.pointee.stream_index }
    /// Whether the demuxer flagged the packet as a keyframe (`AV_PKT_FLAG_KEY`).
    public var isKeyframe: Bool { pointer.pointee.flags & AV_PKT_FLAG_KEY != 0 }
}
