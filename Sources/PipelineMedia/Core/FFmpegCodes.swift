import CFFmpeg

/// FFmpeg error codes and sentinels that are C macros, read through the shim once.
enum FFmpegCode {
    /// `AVERROR(EAGAIN)`.
    static let again: Int32 = cffmpeg_averror_eagain()
    /// `AVERROR_EOF`.
    static let eof: Int32 = cffmpeg_averror_eof()
    /// `AVERROR_INVALIDDATA`.
    static let invalidData: Int32 = cffmpeg_averror_invaliddata()
    /// `AV_NOPTS_VALUE`.
    static let noPTS: Int64 = cffmpeg_nopts_value()
}

/// Seconds of a timestamp in a time base, or nil for `AV_NOPTS_VALUE`.
func seconds(_ ts: Int64, _ tb: AVRational) -> Double? {
    guard ts != FFmpegCode.noPTS, tb.den != 0 else { return nil }
    return Double(ts) * Double(tb.num) / Double(tb.den)
}
