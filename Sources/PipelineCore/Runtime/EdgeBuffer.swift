/// The packets a producer copy holds for one outgoing edge until it flushes them.
///
/// Packets move in (`append`) and move out (`drain` hands them to `Inbox.push`, which takes
/// ownership of every one): a hop costs no reference counting on the packet's item and value.
/// An array cannot hand its elements over like that; copying them into the lane and clearing
/// the array cost a retain and a release of the item, a copy and a destroy of the value, and the
/// array's generic clearing path, per packet per hop.
///
/// The buffer is a trivial value (one pointer), so reading it from the copy's route table costs
/// no reference counting either; its owner frees it once, with `free()`.
struct EdgeBuffer {
    private struct Storage {
        var base: UnsafeMutablePointer<Packet>
        var count: Int
        var capacity: Int
    }

    private let storage: UnsafeMutablePointer<Storage>

    init(capacity: Int) {
        let capacity = max(1, capacity)
        storage = .allocate(capacity: 1)
        storage.initialize(to: Storage(base: .allocate(capacity: capacity), count: 0, capacity: capacity))
    }

    /// Destroys what the buffer still holds and frees it; the owner calls it once, last.
    func free() {
        storage.pointee.base.deinitialize(count: storage.pointee.count)
        storage.pointee.base.deallocate()
        storage.deinitialize(count: 1)
        storage.deallocate()
    }

    var count: Int { storage.pointee.count }
    var isEmpty: Bool { storage.pointee.count == 0 }

    @inline(__always) func append(_ packet: consuming Packet) {
        if storage.pointee.count == storage.pointee.capacity { grow() }
        (storage.pointee.base + storage.pointee.count).initialize(to: packet)
        storage.pointee.count += 1
    }

    /// Passes every packet to `body` as initialized memory that `body` owns: it must move out
    /// or deinitialize each one. The buffer is empty afterwards.
    @inline(__always) func drain<T>(_ body: (UnsafeMutableBufferPointer<Packet>) -> T) -> T {
        let n = storage.pointee.count
        storage.pointee.count = 0
        return body(UnsafeMutableBufferPointer(start: storage.pointee.base, count: n))
    }

    /// Moves the packets into an array, leaving the buffer empty.
    func takeArray() -> [Packet] {
        drain { owned in
            Array(unsafeUninitializedCapacity: owned.count) { array, initialized in
                array.baseAddress!.moveInitialize(from: owned.baseAddress!, count: owned.count)
                initialized = owned.count
            }
        }
    }

    private func grow() {
        let old = storage.pointee
        let bigger = UnsafeMutablePointer<Packet>.allocate(capacity: old.capacity * 2)
        bigger.moveInitialize(from: old.base, count: old.count)
        old.base.deallocate()
        storage.pointee.base = bigger
        storage.pointee.capacity = old.capacity * 2
    }
}
