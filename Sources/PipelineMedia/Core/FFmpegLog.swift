import CFFmpeg

/// Control over FFmpeg's own logging to stderr.
///
/// FFmpeg logs every recoverable decode problem; batch pipelines usually want
/// only errors, and the mutation tests want silence. The level is process-wide.
public enum FFmpegLog {
    /// FFmpeg log levels (`AV_LOG_*`).
    public enum Level: Int32, Sendable {
        case quiet = -8
        case panic = 0
        case fatal = 8
        case error = 16
        case warning = 24
        case info = 32
        case verbose = 40
        case debug = 48
    }

    /// Sets FFmpeg's process-wide log level (`av_log_set_level`).
    public static func setLevel(_ level: Level) {
        av_log_set_level(level.rawValue)
    }

    /// The current process-wide log level.
    public static var level: Int32 { av_log_get_level() }
}
