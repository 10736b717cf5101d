import CFFmpeg
import Foundation

/// An owned, opened `AVFormatContext`: a container being read.
///
/// Opening checks the path first so that a missing file or a directory gets a
/// precise error rather than FFmpeg's generic one, then runs
/// `avformat_open_input` and `avformat_find_stream_info`.
public final class Demuxer {
    /// The underlying FFmpeg context.
    public let pointer: UnsafeMutablePointer<AVFormatContext>
    /// The path that was opened.
    public let path: String

    /// Opens `path` for reading.
    /// - Throws: `MediaError.fileNotFound`, `.notARegularFile`, `.openFailed`, `.streamInfoFailed`.
    public init(path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw MediaError.fileNotFound(path: path)
        }
        if isDirectory.boolValue { throw MediaError.notARegularFile(path: path) }
        var ctx: UnsafeMutablePointer<AVFormatContext>? = nil
        let r = avformat_open_input(&ctx, path, nil, nil)
        guard r >= 0, let opened = ctx else {
            throw MediaError.openFailed(path: path, code: r, message: MediaError.message(for: r))
        }
        pointer = opened
        self.path = path
        let s = avformat_find_stream_info(opened, nil)
        if s < 0 {
            // Every stored property is set, so deinit runs on this throw and closes the input.
            throw MediaError.streamInfoFailed(path: path, code: s, message: MediaError.message(for: s))
        }
    }

    deinit {
        var p: UnsafeMutablePointer<AVFormatContext>? = pointer
        avformat_close_input(&p)
    }

    /// Name of the container format FFmpeg detected (e.g. `mov,mp4,m4a,3gp,3g2,mj2`).
    public var formatName: String {
        pointer.pointee.iformat.map { String(cString: $0.pointee.name) } ?? ""
    }

    /// Container duration in seconds, when known.
    public var duration: Double? {
        let d = pointer.pointee.duration
        guard d != FFmpegCode.noPTS, d > 0 else { return nil }
        return Double(d) / Double(AV_TIME_BASE)
    }

    /// The stream at `index`.
    public func stream(_ index: Int32) -> UnsafeMutablePointer<AVStream>? {
        cffmpeg_stream(pointer, UInt32(index))
    }

    /// The index of the stream FFmpeg considers best for `kind` (`av_find_best_stream`).
    ///
    /// For video, attached pictures (cover art in MP3/M4A) are skipped unless
    /// `allowAttachedPicture` is set: a song with a cover is not a video.
    /// - Throws: `MediaError.noStream` when there is none.
    public func bestStream(_ kind: MediaKind, allowAttachedPicture: Bool = false) throws -> Int32 {
        let type: AVMediaType = kind == .video ? AVMEDIA_TYPE_VIDEO : AVMEDIA_TYPE_AUDIO
        let r = av_find_best_stream(pointer, type, -1, -1, nil, 0)
        guard r >= 0, let st = stream(r) else { throw MediaError.noStream(path: path, kind: kind) }
        if kind == .video, !allowAttachedPicture, st.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC != 0 {
            // Look for a real video stream among the others.
            for i in 0..<Int32(pointer.pointee.nb_streams) {
                guard let s = stream(i), s.pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_VIDEO,
                      s.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC == 0 else { continue }
                return i
            }
            throw MediaError.noStream(path: path, kind: kind)
        }
        return r
    }

    /// Reads the next packet into `packet`; returns FFmpeg's result (0, `AVERROR_EOF`, or an error).
    public func read(into packet: Packet) -> Int32 {
        av_read_frame(pointer, packet.pointer)
    }

    /// Seeks `stream` to the keyframe at or before `seconds`.
    public func seek(stream index: Int32, to seconds: Double) -> Int32 {
        guard let st = stream(index), seconds.isFinite, seconds >= 0, seconds < 1e12 else { return -1 }
        let tb = st.pointee.time_base
        guard tb.num > 0, tb.den > 0 else { return -1 }
        // In Double first: a damaged start_time must not overflow Int64.
        var ts = (seconds * Double(tb.den) / Double(tb.num)).rounded(.down)
        if st.pointee.start_time != FFmpegCode.noPTS { ts += Double(st.pointee.start_time) }
        guard ts.isFinite, abs(ts) < 9e18 else { return -1 }
        return av_seek_frame(pointer, index, Int64(ts), AVSEEK_FLAG_BACKWARD)
    }
}
