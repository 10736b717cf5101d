/// The packets one `process` call handles: one per input port, all of the same item
/// and sequence (the scheduler joins them).
public struct NodeInput: Sendable {
    enum Storage: Sendable {
        case none
        case one(Packet)
        case many([Packet])
    }

    let storage: Storage
    let portNames: [String]

    init(storage: Storage, portNames: [String]) {
        self.storage = storage
        self.portNames = portNames
    }

    /// Builds an input by port name (for harnesses and tests).
    public init(_ packets: [(port: String, packet: Packet)]) {
        portNames = packets.map(\.port)
        switch packets.count {
        case 0: storage = .none
        case 1: storage = .one(packets[0].packet)
        default: storage = .many(packets.map(\.packet))
        }
    }

    /// The packet on input port `index`.
    public func packet(at index: Int) -> Packet? {
        switch storage {
        case .none: return nil
        case .one(let p): return index == 0 ? p : nil
        case .many(let ps): return index < ps.count ? ps[index] : nil
        }
    }

    /// The packet on the named port.
    public func packet(_ port: String) -> Packet? {
        guard let i = portNames.firstIndex(of: port) else { return nil }
        return packet(at: i)
    }

    /// The value on the first (often only) input port; `.null` for sources.
    public var value: Value { value(at: 0) }

    /// The value on input port `index`, `.null` if absent. Read straight from the storage: no
    /// copy of the whole packet (its item and value retained and released again) per call.
    public func value(at index: Int) -> Value {
        switch storage {
        case .none: return .null
        case .one(let p): return index == 0 ? p.value : .null
        case .many(let ps): return index < ps.count ? ps[index].value : .null
        }
    }

    /// The value on the named port, `.null` if absent.
    public subscript(port: String) -> Value {
        guard let i = portNames.firstIndex(of: port) else { return .null }
        return value(at: i)
    }

    /// The item being processed (nil for a source's single call).
    public var item: Item? { first { $0.item } }
    public var sequence: Int { first { $0.sequence } ?? 0 }
    public var timestamp: Double? { first { $0.timestamp } ?? nil }

    /// A field of the first packet, read from the storage without copying the packet.
    @inline(__always) private func first<T>(_ field: (borrowing Packet) -> T) -> T? {
        switch storage {
        case .none: return nil
        case .one(let p): return field(p)
        case .many(let ps): return ps.isEmpty ? nil : field(ps[0])
        }
    }

    var packets: [Packet] {
        switch storage {
        case .none: return []
        case .one(let p): return [p]
        case .many(let ps): return ps
        }
    }
}
