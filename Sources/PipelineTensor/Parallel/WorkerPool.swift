import CKernels
import Foundation

/// Parallel loops on a process-wide pool of spinning workers (CKernels' pl_pool), for work cut
/// into many short pieces: a matrix–vector product of a decoding step takes tens of
/// microseconds, about what Dispatch needs to wake a thread, so its workers stay awake
/// between pieces (spinning up to `spinMicroseconds`) and sleep only when work stops coming.
///
/// The pool has `threads - 1` workers (the caller is the last thread). `threads` starts at
/// `defaultThreads` (`PIPELINE_THREADS` when set, else the CPUs the process may use) and
/// changes with `setThreads(_:)`, which `--threads N` calls together with `BLAS.setThreads`,
/// so one flag bounds every pool of compute threads.
public enum WorkerPool {
    /// How long an idle worker spins before it sleeps.
    public static let spinMicroseconds = 2_000

    /// The CPUs the process may use (not counting CPUs `taskset` excludes: a worker spinning
    /// on the caller's own CPU would only slow it).
    public static var availableCPUs: Int { Int(pl_available_cpus()) }

    /// Threads a pool starts with: `PIPELINE_THREADS` when it is a positive number (at most
    /// the available CPUs), else the available CPUs.
    public static var defaultThreads: Int {
        let cpus = availableCPUs
        if let text = ProcessInfo.processInfo.environment["PIPELINE_THREADS"], let n = Int(text), n > 0 {
            return min(n, cpus)
        }
        return cpus
    }

    /// Guards `pool`: runs hold it shared, `setThreads` exclusively, so a pool is never
    /// destroyed under a run (about 20 ns a run, against the tens of microseconds of one).
    nonisolated(unsafe) private static let lock: UnsafeMutablePointer<pthread_rwlock_t> = {
        let lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)
        pthread_rwlock_init(lock, nil)
        return lock
    }()
    nonisolated(unsafe) private static var pool: OpaquePointer? = makePool(threads: defaultThreads)

    private static func makePool(threads: Int) -> OpaquePointer? {
        let workers = max(0, threads - 1)
        return workers > 0 ? pl_pool_create(Int32(workers), spinMicroseconds) : nil
    }

    /// Threads that run tasks, the caller included.
    public static var threads: Int {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return Int(pl_pool_workers(pool)) + 1
    }

    /// Replaces the pool by one of `n` threads (at least 1, at most the available CPUs); the
    /// old pool's workers are joined first. Waits for runs in progress to end.
    public static func setThreads(_ n: Int) {
        let wanted = max(1, min(n, availableCPUs))
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        guard Int(pl_pool_workers(pool)) + 1 != wanted else { return }
        pl_pool_destroy(pool)
        pool = makePool(threads: wanted)
    }

    /// Runs `body(i)` for every i in 0..<tasks, spread over the caller and the workers.
    /// Another thread's run in progress makes this one run on the caller alone.
    public static func run(tasks: Int, _ body: (Int) -> Void) {
        if tasks <= 1 {
            if tasks == 1 { body(0) }
            return
        }
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        withoutActuallyEscaping(body) { body in
            var closure = body
            withUnsafeMutablePointer(to: &closure) { context in
                pl_pool_run(pool, Int32(tasks), { context, task in
                    context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(Int(task))
                }, context)
            }
        }
    }
}
