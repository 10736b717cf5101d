/// Restores input order for a node with several copies: each popped batch has an ordinal;
/// output chunks are forwarded in ordinal order, whatever order copies finish in.
///
/// Only one thread forwards at a time (the drainer), so chunks never interleave. A window of
/// permits bounds how far copies may run ahead of the oldest unfinished batch, which bounds
/// the memory held in pending chunks; a copy that finds no permit parks and is woken when the
/// oldest batch is forwarded.
final class Sequencer: @unchecked Sendable {
    typealias Chunk = [(edge: Int, packets: [Packet])]

    private let monitor = Monitor()
    private var head = 0
    private var pending: [Int: [Chunk]] = [:]
    private var done: Set<Int> = []
    private var draining = false
    private let forward: (Chunk) -> Void
    private var permits: Int
    private var permitWaiters: [CopyWorker] = []

    init(window: Int, forward: @escaping (Chunk) -> Void) {
        self.forward = forward
        self.permits = window
    }

    /// Takes a permit to pop a batch; without one, `waiter` is woken when one is returned.
    func tryAcquire(waiter: CopyWorker) -> Bool {
        monitor.withLock {
            if permits > 0 {
                permits -= 1
                return true
            }
            if !permitWaiters.contains(where: { $0 === waiter }) { permitWaiters.append(waiter) }
            return false
        }
    }

    /// Returns a permit that was not used for a batch.
    func release() {
        monitor.lock()
        permits += 1
        let waiters = permitWaiters
        permitWaiters.removeAll()
        monitor.unlock()
        for w in waiters { w.wake() }
    }

    /// Adds output of batch `ordinal`; forwards it now if that batch is the oldest.
    func submit(_ ordinal: Int, _ chunk: Chunk) {
        monitor.lock()
        pending[ordinal, default: []].append(chunk)
        drain()
    }

    /// Marks batch `ordinal` finished; forwards anything now unblocked.
    func complete(_ ordinal: Int) {
        monitor.lock()
        done.insert(ordinal)
        drain()
    }

    /// Called with the lock held; returns with it released.
    private func drain() {
        if draining {
            monitor.unlock()
            return
        }
        draining = true
        var freed = false
        while true {
            if var chunks = pending[head], !chunks.isEmpty {
                let chunk = chunks.removeFirst()
                pending[head] = chunks
                monitor.unlock()
                forward(chunk)
                monitor.lock()
            } else if done.remove(head) != nil {
                pending[head] = nil
                head += 1
                permits += 1
                freed = true
            } else {
                break
            }
        }
        draining = false
        let waiters = freed ? permitWaiters : []
        if freed { permitWaiters.removeAll() }
        monitor.unlock()
        for w in waiters { w.wake() }
    }
}
