import CFFmpeg

/// An error from media decoding, scaling, resampling or writing.
///
/// Every case that concerns a file carries its path, and every case that comes
/// from FFmpeg carries FFmpeg's own code and message (from `av_strerror`), so a
/// per-item error report tells the user which file failed and why.
public enum MediaError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The path does not exist.
    case fileNotFound(path: String)
    /// The path exists but is not a regular file (for example a directory).
    case notARegularFile(path: String)
    /// `avformat_open_input` failed: FFmpeg could not recognise or open the container.
    case openFailed(path: String, code: Int32, message: String)
    /// `avformat_find_stream_info` failed.
    case streamInfoFailed(path: String, code: Int32, message: String)
    /// The file has no stream of the requested kind (for example no video stream).
    case noStream(path: String, kind: MediaKind)
    /// FFmpeg has no decoder for the stream's codec.
    case decoderNotFound(path: String, codec: String)
    /// Opening the decoder failed.
    case decoderOpenFailed(path: String, codec: String, code: Int32, message: String)
    /// Decoding failed, or the stream ended without a single decodable frame.
    case decodeFailed(path: String, code: Int32, message: String)
    /// Creating or running the swscale scaler failed.
    case scaleFailed(path: String, message: String)
    /// Creating or running the swresample resampler failed.
    case resampleFailed(path: String, code: Int32, message: String)
    /// Encoding an image or audio failed.
    case encodeFailed(path: String, code: Int32, message: String)
    /// Writing an output file failed.
    case writeFailed(path: String, message: String)
    /// An argument was out of range (size zero, bad window, ...).
    case invalidArgument(String)

    /// The file this error concerns, when there is one.
    public var path: String? {
        switch self {
        case .fileNotFound(let p), .notARegularFile(let p), .noStream(let p, _): return p
        case .openFailed(let p, _, _), .streamInfoFailed(let p, _, _), .decodeFailed(let p, _, _): return p
        case .decoderNotFound(let p, _), .scaleFailed(let p, _), .writeFailed(let p, _): return p
        case .decoderOpenFailed(let p, _, _, _): return p
        case .resampleFailed(let p, _, _), .encodeFailed(let p, _, _): return p
        case .invalidArgument: return nil
        }
    }

    /// A one-line message naming the file and the reason.
    public var description: String {
        switch self {
        case .fileNotFound(let p): return "\(p): no such file"
        case .notARegularFile(let p): return "\(p): not a regular file"
        case .openFailed(let p, _, let m): return "\(p): cannot open: \(m)"
        case .streamInfoFailed(let p, _, let m): return "\(p): cannot read stream info: \(m)"
        case .noStream(let p, let k): return "\(p): no \(k.rawValue) stream"
        case .decoderNotFound(let p, let c): return "\(p): no decoder for codec '\(c)'"
        case .decoderOpenFailed(let p, let c, _, let m): return "\(p): cannot open decoder '\(c)': \(m)"
        case .decodeFailed(let p, _, let m): return "\(p): decode failed: \(m)"
        case .scaleFailed(let p, let m): return "\(p): scale failed: \(m)"
        case .resampleFailed(let p, _, let m): return "\(p): resample failed: \(m)"
        case .encodeFailed(let p, _, let m): return "\(p): encode failed: \(m)"
        case .writeFailed(let p, let m): return "\(p): write failed: \(m)"
        case .invalidArgument(let m): return "invalid argument: \(m)"
        }
    }

    /// FFmpeg's message for an error code, as `av_strerror` writes it.
    public static func message(for code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        cffmpeg_err2str(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The kind of a media stream.
public enum MediaKind: String, Sendable, Equatable {
    case video
    case audio
}
