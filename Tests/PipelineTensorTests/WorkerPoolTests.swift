import Dispatch
import Foundation
import Synchronization
import Testing

@testable import PipelineTensor

@Suite("Worker pool")
struct WorkerPoolTests {
    @Test("every task runs exactly once, run after run")
    func everyTaskOnce() {
        for tasks in [1, 2, 3, 7, 64] {
            for _ in 0..<2_000 {
                let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: tasks)
                counts.initialize(repeating: 0)
                WorkerPool.run(tasks: tasks) { counts[$0] += 1 }  // distinct slots: no data race
                #expect(counts.allSatisfy { $0 == 1 }, "tasks \(tasks): \(Array(counts))")
                counts.deallocate()
            }
        }
    }

    @Test("callers on several threads at once each get all their tasks done")
    func concurrentCallers() {
        let total = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<500 {
                let sum = Atomic<Int>(0)
                WorkerPool.run(tasks: 5) { i in sum.add(i + 1, ordering: .relaxed) }
                #expect(sum.load(ordering: .relaxed) == 15)
                total.add(1, ordering: .relaxed)
            }
        }
        #expect(total.load(ordering: .relaxed) == 2_000)
    }

    @Test("every task runs on the submitting thread's kernel path (ISA.withThreadPath reaches the workers)")
    func tasksTakeTheCallersPath() {
        let process = ISA.current
        for _ in 0..<200 {
            let paths = UnsafeMutableBufferPointer<ISA>.allocate(capacity: 16)
            paths.initialize(repeating: process)
            ISA.withThreadPath(.portable) { WorkerPool.run(tasks: 16) { paths[$0] = ISA.current } }
            #expect(paths.allSatisfy { $0 == .portable }, "\(Array(paths))")
            // Without an override the same workers are back on the process path.
            WorkerPool.run(tasks: 16) { paths[$0] = ISA.current }
            #expect(paths.allSatisfy { $0 == process }, "\(Array(paths))")
            paths.deallocate()
        }
    }

    @Test("a run after the workers went to sleep still completes")
    func afterSleep() throws {
        WorkerPool.run(tasks: 2) { _ in }
        usleep(UInt32(WorkerPool.spinMicroseconds * 3))
        let sum = Atomic<Int>(0)
        WorkerPool.run(tasks: 4) { i in sum.add(i, ordering: .relaxed) }
        #expect(sum.load(ordering: .relaxed) == 6)
    }

    @Test("setThreads bounds the pool: 1 thread starts no worker, N threads start N-1, while other callers run")
    func setThreadsBoundsThePool() throws {
        let original = WorkerPool.threads
        defer { WorkerPool.setThreads(original) }
        // Other callers keep running across the changes: a pool is never destroyed under a run.
        let stop = Atomic<Bool>(false)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            while !stop.load(ordering: .relaxed) {
                let sum = Atomic<Int>(0)
                WorkerPool.run(tasks: 6) { i in sum.add(i, ordering: .relaxed) }
                #expect(sum.load(ordering: .relaxed) == 15)
            }
            done.signal()
        }
        WorkerPool.setThreads(1)
        #expect(WorkerPool.threads == 1)
        let sum = Atomic<Int>(0)
        WorkerPool.run(tasks: 4) { i in sum.add(i, ordering: .relaxed) }
        #expect(sum.load(ordering: .relaxed) == 6)
        let cpus = WorkerPool.availableCPUs
        WorkerPool.setThreads(cpus + 5)
        #expect(WorkerPool.threads == cpus, "never more threads than CPUs")
        WorkerPool.setThreads(0)
        #expect(WorkerPool.threads == 1)
        stop.store(true, ordering: .relaxed)
        done.wait()
    }
}
