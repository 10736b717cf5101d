#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A mutex with two condition variables: one for consumers waiting for data,
/// one for producers waiting for room. Two conditions let a push wake only consumers.
final class Monitor: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let dataCond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let roomCond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(dataCond, nil)
        pthread_cond_init(roomCond, nil)
    }

    deinit {
        pthread_cond_destroy(roomCond)
        pthread_cond_destroy(dataCond)
        pthread_mutex_destroy(mutex)
        roomCond.deallocate()
        dataCond.deallocate()
        mutex.deallocate()
    }

    @inline(__always) func lock() { pthread_mutex_lock(mutex) }
    @inline(__always) func unlock() { pthread_mutex_unlock(mutex) }

    @inline(__always) func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }

    func waitForData() { pthread_cond_wait(dataCond, mutex) }
    func waitForRoom() { pthread_cond_wait(roomCond, mutex) }
    /// Waits for room at most `nanoseconds` (a timed wake-up for periodic checks).
    func waitForRoom(nanoseconds: UInt64) {
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        let total = UInt64(deadline.tv_nsec) + nanoseconds
        deadline.tv_sec += Int(total / 1_000_000_000)
        deadline.tv_nsec = Int(total % 1_000_000_000)
        pthread_cond_timedwait(roomCond, mutex, &deadline)
    }
    func signalData(all: Bool) {
        if all { pthread_cond_broadcast(dataCond) } else { pthread_cond_signal(dataCond) }
    }
    func signalRoom() { pthread_cond_broadcast(roomCond) }
}

/// A growable FIFO ring buffer (no per-element allocation).
struct RingBuffer<Element> {
    private var storage: [Element?]
    private var head = 0
    private(set) var count = 0

    init(capacity: Int = 16) {
        storage = Array(repeating: nil, count: max(1, capacity))
    }

    var isEmpty: Bool { count == 0 }

    mutating func append(_ element: consuming Element) {
        if count == storage.count { grow() }
        storage[(head + count) % storage.count] = element
        count += 1
    }

    var first: Element? { count > 0 ? storage[head] : nil }

    mutating func popFirst() -> Element? {
        guard count > 0 else { return nil }
        let element = storage[head].take()  // moved out: no retain/release pair
        head = (head + 1) % storage.count
        count -= 1
        return element
    }

    private mutating func grow() {
        var bigger = [Element?](repeating: nil, count: storage.count * 2)
        for i in 0..<count { bigger[i] = storage[(head + i) % storage.count] }
        storage = bigger
        head = 0
    }
}
