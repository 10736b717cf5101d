import Dispatch

/// Restores input order for a node with several copies: each popped batch has an ordinal;
/// output chunks are forwarded in ordinal order, whatever order copies finish in.
///
/// Only one thread forwards at a time (the drainer), so chunks never interleave. A window of
/// permits bounds how far copies may run ahead of the oldest unfinished batch, which bounds
/// the memory held in pending chunks.
final class Sequencer: @unchecked Sendable {
    typealias Chunk = [(edge: Int, packets: [Packet])]

    private let monitor = Monitor()
    private var head = 0
    private var pending: [Int: [Chunk]] = [:]
    private var done: Set<Int> = []
    private var draining = false
    private let forward: (Chunk) -> Void
    let permits: DispatchSemaphore

    init(window: Int, forward: @escaping (Chunk) -> Void) {
        self.forward = forward
        self.permits = DispatchSemaphore(value: window)
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
                permits.signal()
            } else {
                break
            }
        }
        draining = false
        monitor.unlock()
    }
}
