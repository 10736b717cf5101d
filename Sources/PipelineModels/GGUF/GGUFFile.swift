import PipelineTensor
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A GGUF file, memory-mapped read-only: metadata, tensor infos and tensor data.
///
/// Every offset and count is checked against the file's size before it is used, so a
/// truncated or hostile file gives a `GGUFError` naming the file and the part that is
/// wrong, never a crash or an allocation sized by a garbage count. Tensor data is not
/// copied: `data(of:)` returns a view into the mapping.
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: UInt32
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order.
    public let keys: [String]
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    /// Absolute offset of the tensor data blob.
    public let dataOffset: Int
    public let fileSize: Int
    /// The most metadata array elements read from one file, all arrays together (32 Mi).
    /// Vocabularies hold a few hundred thousand tokens and merges; each element becomes a
    /// `GGUFValue` of 24 bytes, so a one-byte element would otherwise cost 24 times the
    /// file's size in memory.
    public static let maxArrayElements = 1 << 25
    private let mapping: MappedFile
    private let base: UnsafeRawPointer
    private let tensorIndex: [String: Int]

    public init(path: String) throws {
        self.path = path
        do {
            mapping = try MappedFile(path: path)
        } catch let error as MappedFile.OpenError {
            throw GGUFError.cannotOpen(path: path, reason: error.reason)
        }
        fileSize = mapping.size
        guard fileSize > 0 else { throw GGUFError.truncated(path: path, offset: 0, reading: "the header") }
        base = mapping.base
        var reader = Reader(base: base, size: fileSize, path: path)
        let magic = try reader.u32("the magic")
        guard magic == 0x4655_4747 else { throw GGUFError.badMagic(path: path) }
        version = try reader.u32("the version")
        guard version == 2 || version == 3 else { throw GGUFError.unsupportedVersion(path: path, version: version) }
        let tensorCount = try reader.u64("the tensor count")
        let kvCount = try reader.u64("the metadata count")
        // Each metadata pair takes at least 12 bytes (key length + type), each tensor info 24.
        try reader.checkCount(kvCount, minimumBytes: 12, what: "metadata")
        try reader.checkCount(tensorCount, minimumBytes: 24, what: "tensor")

        var metadata: [String: GGUFValue] = [:]
        var keys: [String] = []
        for _ in 0..<kvCount {
            let key = try reader.string("a metadata key")
            let type = try reader.u32("the type of '\(key)'")
            let value = try reader.value(type: type, key: key, allowArray: true)
            guard metadata.updateValue(value, forKey: key) == nil else {
                throw GGUFError.duplicateKey(path: path, key: key)
            }
            keys.append(key)
        }
        self.metadata = metadata
        self.keys = keys

        let alignment = metadata["general.alignment"]?.int ?? 32
        guard alignment > 0, alignment & (alignment - 1) == 0 else {
            throw GGUFError.badAlignment(path: path, alignment: alignment)
        }
        self.alignment = alignment

        var infos: [(name: String, dims: [Int], type: GGMLType, offset: UInt64)] = []
        var seen = Set<String>()
        for _ in 0..<tensorCount {
            let name = try reader.string("a tensor name")
            guard seen.insert(name).inserted else { throw GGUFError.duplicateTensor(path: path, tensor: name) }
            let nDims = try reader.u32("the dimension count of '\(name)'")
            guard (1...4).contains(nDims) else {
                throw GGUFError.badTensorShape(path: path, tensor: name, reason: "\(nDims) dimensions (1 to 4 are valid)")
            }
            var dims: [Int] = []
            for _ in 0..<nDims {
                let d = try reader.u64("a dimension of '\(name)'")
                guard d > 0, d <= UInt64(Int32.max) else {
                    throw GGUFError.badTensorShape(path: path, tensor: name, reason: "dimension \(d) is out of range")
                }
                dims.append(Int(d))
            }
            let typeID = try reader.u32("the type of '\(name)'")
            guard let type = GGMLType(rawValue: typeID) else {
                throw GGUFError.unknownTensorType(path: path, tensor: name, type: typeID)
            }
            let offset = try reader.u64("the data offset of '\(name)'")
            infos.append((name, dims, type, offset))
        }
        dataOffset = (reader.offset + alignment - 1) / alignment * alignment

        var tensors: [GGUFTensorInfo] = []
        for info in infos {
            guard info.dims[0] % info.type.blockSize == 0 else {
                throw GGUFError.badTensorShape(
                    path: path, tensor: info.name,
                    reason: "row length \(info.dims[0]) is not a multiple of \(info.type)'s block size \(info.type.blockSize)")
            }
            var count = 1
            for d in info.dims {
                let (product, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow, product <= 1 << 40 else {
                    throw GGUFError.badTensorShape(path: path, tensor: info.name, reason: "too many elements")
                }
                count = product
            }
            let bytes = count / info.type.blockSize * info.type.blockBytes
            guard info.offset <= UInt64(fileSize), dataOffset + Int(info.offset) + bytes <= fileSize else {
                throw GGUFError.tensorOutOfRange(
                    path: path, tensor: info.name, offset: dataOffset + Int(min(info.offset, UInt64(fileSize))),
                    bytes: bytes, fileSize: fileSize)
            }
            tensors.append(
                GGUFTensorInfo(
                    name: info.name, dimensions: info.dims, type: info.type, elementCount: count,
                    byteCount: bytes, offset: dataOffset + Int(info.offset)))
        }
        self.tensors = tensors
        tensorIndex = Dictionary(uniqueKeysWithValues: tensors.enumerated().map { ($1.name, $0) })
    }

    public subscript(key: String) -> GGUFValue? { metadata[key] }

    public func tensor(named name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// The raw bytes of a tensor, in place in the mapping (valid while the file is alive).
    public func data(of tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + tensor.offset, count: tensor.byteCount)
    }

    /// Drops the pages wholly inside `range` (a part of the mapping whose data was copied)
    /// from memory; they read back from the file if touched again.
    public func releasePages(_ range: UnsafeRawBufferPointer) {
        mapping.release(range)
    }

    /// `general.architecture`, the key that picks the model implementation.
    public var architecture: String? { metadata["general.architecture"]?.string }
}

/// One tensor's shape, type and place in the file.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    /// ggml order: `dimensions[0]` is the contiguous row length (a PyTorch [out, in] is [in, out]).
    public let dimensions: [Int]
    public let type: GGMLType
    public let elementCount: Int
    public let byteCount: Int
    /// Absolute offset in the file.
    public let offset: Int

    public var rowLength: Int { dimensions[0] }
    public var rowCount: Int { elementCount / dimensions[0] }
    public var rowBytes: Int { dimensions[0] / type.blockSize * type.blockBytes }
}

/// A bounds-checked little-endian cursor over the mapping.
private struct Reader {
    let base: UnsafeRawPointer
    let size: Int
    let path: String
    var offset = 0
    /// Metadata array elements still allowed (`GGUFFile.maxArrayElements` at the start).
    var arrayBudget = GGUFFile.maxArrayElements

    init(base: UnsafeRawPointer, size: Int, path: String) {
        self.base = base
        self.size = size
        self.path = path
    }

    mutating func need(_ n: Int, _ what: String) throws {
        guard n >= 0, n <= size - offset else { throw GGUFError.truncated(path: path, offset: offset, reading: what) }
    }

    mutating func load<T: FixedWidthInteger>(_: T.Type, _ what: String) throws -> T {
        try need(MemoryLayout<T>.size, what)
        defer { offset += MemoryLayout<T>.size }
        return T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    mutating func u32(_ what: String) throws -> UInt32 { try load(UInt32.self, what) }
    mutating func u64(_ what: String) throws -> UInt64 { try load(UInt64.self, what) }

    /// Refuses a count whose elements could not fit in the bytes left.
    func checkCount(_ count: UInt64, minimumBytes: Int, what: String) throws {
        guard count <= UInt64(size - offset) / UInt64(minimumBytes) else {
            throw GGUFError.absurdCount(path: path, what: what, count: count)
        }
    }

    mutating func string(_ what: String) throws -> String {
        let length = try u64("the length of \(what)")
        guard length <= UInt64(size - offset) else { throw GGUFError.truncated(path: path, offset: offset, reading: what) }
        let start = offset
        offset += Int(length)
        let bytes = UnsafeRawBufferPointer(start: base + start, count: Int(length))
        guard let s = String(validating: bytes.bindMemory(to: UInt8.self), as: UTF8.self) else {
            throw GGUFError.invalidString(path: path, offset: start)
        }
        return s
    }

    mutating func value(type: UInt32, key: String, allowArray: Bool) throws -> GGUFValue {
        let what = "the value of '\(key)'"
        switch type {
        case 0: return .uint8(try load(UInt8.self, what))
        case 1: return .int8(try load(Int8.self, what))
        case 2: return .uint16(try load(UInt16.self, what))
        case 3: return .int16(try load(Int16.self, what))
        case 4: return .uint32(try load(UInt32.self, what))
        case 5: return .int32(try load(Int32.self, what))
        case 6: return .float32(Float(bitPattern: try load(UInt32.self, what)))
        case 7: return .bool(try load(UInt8.self, what) != 0)
        case 8: return .string(try string(what))
        case 9:
            guard allowArray else { throw GGUFError.nestedArray(path: path, key: key) }
            let elementType = try u32("the element type of '\(key)'")
            let count = try u64("the length of '\(key)'")
            let minimum: Int
            switch elementType {
            case 0, 1, 7: minimum = 1
            case 2, 3: minimum = 2
            case 4, 5, 6: minimum = 4
            case 8, 10, 11, 12: minimum = 8
            case 9: throw GGUFError.nestedArray(path: path, key: key)
            default: throw GGUFError.unknownValueType(path: path, key: key, type: elementType)
            }
            try checkCount(count, minimumBytes: minimum, what: "'\(key)' element")
            guard count <= UInt64(arrayBudget) else {
                throw GGUFError.tooManyArrayElements(path: path, key: key, count: count, limit: GGUFFile.maxArrayElements)
            }
            arrayBudget -= Int(count)
            var values: [GGUFValue] = []
            values.reserveCapacity(Int(count))
            for _ in 0..<count { values.append(try value(type: elementType, key: key, allowArray: false)) }
            return .array(values)
        case 10: return .uint64(try load(UInt64.self, what))
        case 11: return .int64(try load(Int64.self, what))
        case 12: return .float64(Double(bitPattern: try load(UInt64.self, what)))
        default: throw GGUFError.unknownValueType(path: path, key: key, type: type)
        }
    }
}
