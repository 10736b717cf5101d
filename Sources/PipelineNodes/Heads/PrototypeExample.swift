import Foundation

/// One labelled example a head learned from, as a record of the head's state file.
///
/// The state file is the list of these records, appended in the order examples were committed:
/// under `pipeline watch` an example's record is staged on its item and appended by the watch
/// ledger with the item's `done` row (the mechanism `sink.jsonl` uses, docs/hardening.md), so
/// it is in the file exactly once; the head's sums and Gram matrix are rebuilt from the file.
///
/// Layout, little-endian: `"PHX1"`, u16 item length, u16 label length, u32 dimension, the item
/// and label as UTF-8, the features as Float32, then a u32 FNV-1a checksum of everything before
/// it. A record that ends early is a write a crash cut short (the file is cut there); a wrong
/// checksum or magic is corruption, reported with its byte offset.
public struct PrototypeExample: Sendable, Equatable {
    public let item: String
    public let label: String
    public let features: [Float]

    public init(item: String, label: String, features: [Float]) {
        self.item = item
        self.label = label
        self.features = features
    }

    static let magic: [UInt8] = Array("PHX1".utf8)
    /// The widest feature a record may hold (bounds what a corrupt length can make us allocate).
    public static let maxDimension = 1 << 20

    /// The record's bytes.
    public var encoded: [UInt8] {
        let itemBytes = Array(item.utf8.prefix(Int(UInt16.max)))
        let labelBytes = Array(label.utf8.prefix(Int(UInt16.max)))
        var out = Self.magic
        out.reserveCapacity(16 + itemBytes.count + labelBytes.count + 4 * features.count)
        Self.put(UInt16(itemBytes.count), &out)
        Self.put(UInt16(labelBytes.count), &out)
        Self.put(UInt32(features.count), &out)
        out += itemBytes
        out += labelBytes
        for f in features { Self.put(f.bitPattern, &out) }
        Self.put(Self.fnv1a(out[...]), &out)
        return out
    }

    private static func put<T: FixedWidthInteger>(_ value: T, _ out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out += $0 }
    }

    static func fnv1a(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var h: UInt32 = 2_166_136_261
        for b in bytes { h = (h ^ UInt32(b)) &* 16_777_619 }
        return h
    }

    /// What reading a state file found: the records, and the length of the whole records
    /// (bytes after it are an unfinished write).
    public struct Decoded: Sendable {
        public var examples: [PrototypeExample]
        public var validLength: Int
    }

    /// Reads the records in `bytes`; an incomplete last record is left out (see `validLength`).
    /// `base` is where `bytes` start in the file, for the offsets in errors.
    public static func decode(_ bytes: [UInt8], path: String, base: Int = 0) throws -> Decoded {
        var examples: [PrototypeExample] = []
        var offset = 0
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        func u32(_ at: Int) -> UInt32 {
            UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
        while offset < bytes.count {
            guard bytes.count - offset >= 12 else { break }
            guard Array(bytes[offset..<(offset + 4)]) == magic else {
                throw PrototypeHeadError.corruptState(path: path, offset: base + offset, reason: "no record starts here")
            }
            let itemLength = u16(offset + 4), labelLength = u16(offset + 6), dimension = Int(u32(offset + 8))
            guard dimension <= maxDimension else {
                throw PrototypeHeadError.corruptState(path: path, offset: base + offset, reason: "dimension \(dimension) is more than \(maxDimension)")
            }
            let total = 12 + itemLength + labelLength + 4 * dimension + 4
            guard bytes.count - offset >= total else { break }
            let body = bytes[offset..<(offset + total - 4)]
            guard fnv1a(body) == u32(offset + total - 4) else {
                throw PrototypeHeadError.corruptState(path: path, offset: base + offset, reason: "checksum mismatch")
            }
            var at = offset + 12
            let item = String(decoding: bytes[at..<(at + itemLength)], as: UTF8.self)
            at += itemLength
            let label = String(decoding: bytes[at..<(at + labelLength)], as: UTF8.self)
            at += labelLength
            var features = [Float](repeating: 0, count: dimension)
            for j in 0..<dimension { features[j] = Float(bitPattern: u32(at + 4 * j)) }
            examples.append(PrototypeExample(item: item, label: label, features: features))
            offset += total
        }
        return Decoded(examples: examples, validLength: offset)
    }
}
