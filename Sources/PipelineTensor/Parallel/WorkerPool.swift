import CKernels
import Foundation

/// Parallel loops on a process-wide pool of spinning workers (CKernels' pl_pool), for work cut
/// into many short pieces: a matrix–vector product of a decoding step takes tens of
/// microseconds, about what Dispatch needs to wake a thread, so its workers stay awake
/// between pieces (spinning up to `spinMicroseconds`) and sleep only when work stops coming.
public enum WorkerPool {
    /// How long an idle worker spins before it sleeps.
    public static let spinMicroseconds = 2_000

    // Created once and never mutated from Swift; pl_pool itself is safe to call from any thread.
    nonisolated(unsafe) private static let pool: OpaquePointer? = {
        // One worker per further CPU the process may use (not counting CPUs `taskset` excludes:
        // a worker spinning on the caller's own CPU would only slow it).
        let workers = max(0, Int(pl_available_cpus()) - 1)
        return workers > 0 ? pl_pool_create(Int32(workers), spinMicroseconds) : nil
    }()

    /// Threads that run tasks, the caller included.
    public static var threads: Int { Int(pl_pool_workers(pool)) + 1 }

    /// Runs `body(i)` for every i in 0..<tasks, spread over the caller and the workers.
    /// Another thread's run in progress makes this one run on the caller alone.
    public static func run(tasks: Int, _ body: (Int) -> Void) {
        if tasks <= 1 {
            if tasks == 1 { body(0) }
            return
        }
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
