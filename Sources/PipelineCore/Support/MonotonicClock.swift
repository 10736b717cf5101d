#if canImport(Glibc)
import Glibc
#endif

/// Nanosecond readings of the monotonic clock. `coarse` costs a few nanoseconds and is
/// good to a few milliseconds: enough for the watchdog, cheap enough for every call.
enum MonotonicClock {
    @inline(__always) static func now() -> UInt64 { read(CLOCK_MONOTONIC) }
    @inline(__always) static func coarse() -> UInt64 { read(CLOCK_MONOTONIC_COARSE) }

    @inline(__always) private static func read(_ clock: clockid_t) -> UInt64 {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
