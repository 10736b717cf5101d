import Dispatch
import Foundation
import Synchronization

/// A bounded set of threads that runs node copies one step at a time.
///
/// A node copy does not own a thread: when it has input and room downstream it is queued here,
/// a pool thread runs one step of it (one batch through `process`, see `CopyWorker.step`), and
/// the thread goes on with the next queued copy. A copy with an empty inbox, a full edge ahead
/// of it, or no reordering window left is simply not queued; whatever frees it (a push, a pop,
/// the sequencer) queues it again. So a graph of thousands of nodes runs on `target` threads.
///
/// Two things would let a bounded pool starve or deadlock, and the pool makes up for both with
/// a few spare threads (at most `maxSpare`, gone once the queue is empty again):
/// - a step that waits inside (an emit into a full edge from a node that emits many packets
///   per input): the push says so (`willBlockOnPush`) and a spare starts at once if copies
///   are queued; when no spare is left, the push goes over the edge's capacity instead of
///   waiting, so the last thread never waits for a copy that only it could run;
/// - a step that runs long (model inference, a decoder, a node that sleeps): while copies are
///   queued and no thread is idle, a check every `monitorPeriodNanos` (a Dispatch timer, so
///   no thread of its own) starts a spare when a step has run longer than `longStepNanos`, so
///   short steps elsewhere keep flowing.
final class StepPool: @unchecked Sendable {
    /// Threads meant to run steps at once (the CPU count, or `--threads`).
    let target: Int
    /// Threads the pool may start on top of `target` to make up for waiting or long steps.
    let maxSpare: Int
    /// A step running longer than this counts as long (the monitor may start a spare).
    static let longStepNanos: UInt64 = 50_000_000
    /// How often the monitor looks while copies are queued and every thread is busy.
    static let monitorPeriodNanos: UInt64 = 5_000_000

    /// One pool thread: its step start time (coarse nanoseconds; 0 between steps), read by
    /// the long-step check, and its hand-off (only its own thread touches `ending` and `next`).
    final class Slot: @unchecked Sendable {
        let stepStart = Atomic<UInt64>(0)
        let spare: Bool
        unowned let pool: StepPool
        /// Set while the copy on this thread flushes at the end of its step.
        var ending = false
        /// A copy that end-of-step flush woke: this thread runs it next, no other is woken.
        var next: CopyWorker?
        init(spare: Bool, pool: StepPool) {
            self.spare = spare
            self.pool = pool
        }
    }

    /// The calling thread's slot, when it is a pool thread.
    private static let slotKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    @inline(__always) private static func currentSlot() -> Slot? {
        guard let raw = pthread_getspecific(slotKey) else { return nil }
        return Unmanaged<Slot>.fromOpaque(raw).takeUnretainedValue()
    }

    private let monitor = Monitor()
    private var ready = RingBuffer<CopyWorker>(capacity: 64)
    private var slots: [Slot] = []
    /// Threads started and not yet returned from their body: `slots` plus those that have left
    /// their slot and are still on their way out (on a loaded machine that can take a while).
    /// The thread cap counts these, so a spare leaving and another starting never overlap
    /// past `target + maxSpare`.
    private var alive = 0
    private var idle = 0
    private var pushBlocked = 0
    private var closed = false
    /// Whether a long-step check is scheduled.
    private var checkArmed = false
    /// Most threads alive at once (for tests and the run summary).
    private(set) var peakThreads = 0
    /// Pushes that went over an edge's capacity because no thread was left to wait with.
    let overflows = Atomic<Int>(0)

    init(threads: Int, maxSpare: Int = 4) {
        self.target = max(1, threads)
        self.maxSpare = max(1, maxSpare)
    }

    /// Queues a copy to run one step. Called by `CopyWorker.wake` only.
    ///
    /// The first copy that a step's closing flush wakes is handed to the same thread instead
    /// (`Slot.next`): it runs as soon as that step returns, with no other thread woken. A
    /// packet going down a chain thus stays on one thread, hot in its cache, instead of
    /// waking an idle thread per hop (a futex wake and a context switch each, and on a busy
    /// machine a wait for the kernel to run the woken thread: the latency tail). Copies woken
    /// by anything else, or after the first, are queued for every thread as before.
    func submit(_ worker: CopyWorker) {
        if let slot = Self.currentSlot(), slot.ending, slot.next == nil, slot.pool === self {
            slot.next = worker
            return
        }
        monitor.lock()
        ready.append(worker)
        if idle > 0 {
            monitor.signalData(all: false)
        } else if slots.count - pushBlocked < target && alive < target + maxSpare {
            spawn(spare: slots.count >= target)
        } else {
            armCheck()
        }
        monitor.unlock()
    }

    /// Stops the threads once the run is over (they exit when the queue is empty).
    func close() {
        monitor.withLock {
            closed = true
            monitor.signalData(all: true)
        }
    }

    /// Runs `body`, the flush that closes a step, so that the first copy it wakes is handed
    /// to this thread (see `submit`).
    @inline(__always) func closingFlush(_ body: () -> Void) {
        guard let slot = Self.currentSlot(), slot.pool === self else { return body() }
        slot.ending = true
        body()
        slot.ending = false
    }

    // MARK: Waiting inside a step

    /// A pool thread is about to wait for room on a full edge. Returns false when it must not
    /// (it would be the last thread able to run the copy that makes room): the caller then
    /// pushes over capacity. After a true answer the caller calls `didUnblockPush`.
    func willBlockOnPush() -> Bool {
        monitor.lock()
        defer { monitor.unlock() }
        // A copy handed to this thread must not wait for this push: any thread may take it.
        if let slot = Self.currentSlot(), let next = slot.next {
            slot.next = nil
            ready.append(next)
        }
        let others = slots.count - pushBlocked - 1
        let canSpawn = alive < target + maxSpare
        guard others >= 1 || canSpawn else {
            overflows.add(1, ordering: .relaxed)
            return false
        }
        pushBlocked += 1
        if !ready.isEmpty {
            if idle > 0 {
                monitor.signalData(all: false)
            } else if slots.count - pushBlocked < target && canSpawn {
                spawn(spare: true)
            }
        }
        return true
    }

    func didUnblockPush() {
        monitor.withLock { pushBlocked -= 1 }
    }

    // MARK: Threads

    /// Starts one thread; called with the lock held.
    private func spawn(spare: Bool) {
        let slot = Slot(spare: spare, pool: self)
        slots.append(slot)
        alive += 1
        peakThreads = max(peakThreads, alive)
        let thread = Thread { [self] in
            Self.nameThread(spare ? "pipeline.spare" : "pipeline.pool")
            work(slot)
            monitor.withLock { alive -= 1 }
        }
        thread.stackSize = 1 << 20
        thread.start()
    }

    private func work(_ slot: Slot) {
        pthread_setspecific(Self.slotKey, Unmanaged.passUnretained(slot).toOpaque())
        defer { pthread_setspecific(Self.slotKey, nil) }
        monitor.lock()
        while true {
            if var worker = ready.popFirst() {
                // Copies still wait: if this step runs long, a check will notice.
                if !ready.isEmpty { armCheck() }
                monitor.unlock()
                while true {
                    slot.stepStart.store(max(1, MonotonicClock.coarse()), ordering: .relaxed)
                    worker.runQueued()
                    slot.stepStart.store(0, ordering: .relaxed)
                    // The copy the step's closing flush woke, if any, runs next on this thread.
                    guard let next = slot.next else { break }
                    slot.next = nil
                    worker = next
                }
                monitor.lock()
                // A spare leaves as soon as the threads that are not waiting are enough again.
                if slot.spare && slots.count - pushBlocked - longSteps() > target { break }
                continue
            }
            if closed || slot.spare { break }
            idle += 1
            monitor.waitForData()
            idle -= 1
        }
        slots.removeAll { $0 === slot }
        monitor.unlock()
    }

    /// Names the calling thread (as `top -H` and /proc show it; at most 15 bytes).
    private static func nameThread(_ name: String) {
        // pthread_setname_np is not visible to Swift on glibc; the kernel's own file is.
        try? name.write(toFile: "/proc/thread-self/comm", atomically: false, encoding: .utf8)
    }

    /// Threads inside a step that has run long; called with the lock held.
    private func longSteps() -> Int {
        let now = MonotonicClock.coarse()
        var n = 0
        for slot in slots {
            let start = slot.stepStart.load(ordering: .relaxed)
            if start != 0 && now &- start > Self.longStepNanos { n += 1 }
        }
        return n
    }

    /// Schedules a long-step check unless one is; called with the lock held.
    private func armCheck() {
        guard !checkArmed, !closed else { return }
        checkArmed = true
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(Self.monitorPeriodNanos))) { [self] in
            checkLongSteps()
        }
    }

    /// Starts a spare while copies wait in the queue and long steps hold the threads; looks
    /// again later while that lasts.
    private func checkLongSteps() {
        monitor.lock()
        checkArmed = false
        if !closed && !ready.isEmpty && idle == 0 {
            if slots.count - pushBlocked - longSteps() < target && alive < target + maxSpare {
                spawn(spare: true)
            }
            armCheck()
        }
        monitor.unlock()
    }
}
