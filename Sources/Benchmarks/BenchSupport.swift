import ArgumentParser
import Foundation
import PipelineTensor

/// `--threads` and `--runs`, as the model benchmarks share them.
struct ComputeOptions: ParsableArguments {
    @Option(help: "Threads for the worker pool and OpenBLAS (default: the benchmark's own, usually 2).")
    var threads: Int?
    @Option(help: "Timed runs after the warm-up; the best is reported.") var runs = 3

    /// `--runs`, at least 1.
    var timedRuns: Int { max(1, runs) }

    /// Sizes both compute pools, the worker pool and OpenBLAS, to `--threads` (or `fallback`).
    func applyThreads(default fallback: Int) {
        WorkerPool.setThreads(threads ?? fallback)
        BLAS.setThreads(WorkerPool.threads)
    }
}

/// The shortest wall time of `runs` calls of `body`.
func bestSeconds(runs: Int, _ body: () throws -> Void) rethrows -> Double {
    var best = Double.infinity
    for _ in 0..<runs {
        let start = Date()
        try body()
        best = min(best, Date().timeIntervalSince(start))
    }
    return best
}

/// The element at fraction `p` of a sorted list (nearest rank), 0 when empty.
func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}

/// The median (mean of the middle two for an even count).
func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Wall seconds `body` takes, on the monotonic clock.
func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

/// This thread's CPU time in microseconds: per-call figures unaffected by other processes on a
/// loaded machine (wall time would count their turns too).
func threadMicros() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) * 1e6 + Double(t.tv_nsec) / 1e3
}

/// Reads a file of raw little-endian float32 values.
func readFloats(_ path: String) throws -> [Float] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    return data.withUnsafeBytes { raw in
        (0..<raw.count / 4).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
    }
}
