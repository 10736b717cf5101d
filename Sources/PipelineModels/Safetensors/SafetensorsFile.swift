import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A safetensors file, memory-mapped read-only: an 8-byte little-endian header length, a JSON
/// header mapping tensor names to dtype, shape and `data_offsets`, then the tensor bytes.
///
/// Every length and offset is checked against the file before use, so a truncated or hostile
/// file gives a `SafetensorsError` naming the file and tensor, never a crash. Tensor bytes are
/// not copied until asked for: `floats(_:shape:)` converts one tensor to `[Float]`, checking
/// its shape first.
public final class SafetensorsFile: @unchecked Sendable {
    public let path: String
    public let fileSize: Int
    /// The optional `__metadata__` string map.
    public let metadata: [String: String]
    /// Tensors by name.
    public let tensors: [String: SafetensorsTensorInfo]
    /// The largest header this reader accepts (the format's own limit is 100 MB).
    public static let maxHeaderLength = 100_000_000
    private let mapping: MappedFile
    private let base: UnsafeRawPointer

    public init(path: String) throws {
        self.path = path
        do {
            mapping = try MappedFile(path: path)
        } catch let error as MappedFile.OpenError {
            throw SafetensorsError.cannotOpen(path: path, reason: error.reason)
        }
        fileSize = mapping.size
        guard fileSize >= 8 else { throw SafetensorsError.truncated(path: path, fileSize: fileSize) }
        base = mapping.base
        let length = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self))
        guard length >= 2, length <= UInt64(Self.maxHeaderLength), length <= UInt64(fileSize - 8) else {
            throw SafetensorsError.badHeaderLength(path: path, length: length, fileSize: fileSize)
        }
        let header = Data(bytes: base + 8, count: Int(length))
        let dataStart = 8 + Int(length)
        (metadata, tensors) = try Self.parseHeader(header, path: path, dataStart: dataStart, dataSize: fileSize - dataStart)
    }

    /// The raw bytes of a tensor, in place in the mapping (valid while the file is alive).
    public func data(of tensor: SafetensorsTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + tensor.offset, count: tensor.byteCount)
    }

    /// The tensor named `name`, checked to have `shape`.
    public func info(_ name: String, shape: [Int]) throws -> SafetensorsTensorInfo {
        guard let info = tensors[name] else {
            throw SafetensorsError.missingTensor(path: path, tensor: name, expectedShape: shape)
        }
        guard info.shape == shape else {
            throw SafetensorsError.wrongShape(path: path, tensor: name, expected: shape, actual: info.shape)
        }
        return info
    }

    /// A floating-point tensor (F32, F16 or BF16) converted to `Float`, checked to have `shape`.
    public func floats(_ name: String, shape: [Int]) throws -> [Float] {
        let info = try info(name, shape: shape)
        let raw = data(of: info)
        let count = info.elementCount
        switch info.dtype {
        case .f32:
            return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                if count > 0, let dst = buffer.baseAddress, let src = raw.baseAddress {
                    memcpy(dst, src, count * 4)
                }
                initialized = count
            }
        case .f16:
            return (0..<count).map { Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self))) }
        case .bf16:
            return (0..<count).map {
                Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)) << 16)
            }
        case .i64:
            throw SafetensorsError.wrongDType(path: path, tensor: name, expected: "F32, F16 or BF16", actual: .i64)
        }
    }

    /// An I64 tensor, checked to have `shape`.
    public func int64s(_ name: String, shape: [Int]) throws -> [Int64] {
        let info = try info(name, shape: shape)
        guard info.dtype == .i64 else {
            throw SafetensorsError.wrongDType(path: path, tensor: name, expected: "I64", actual: info.dtype)
        }
        let raw = data(of: info)
        return (0..<info.elementCount).map { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
    }

    /// Parses and checks the JSON header: every entry's dtype, shape and offsets.
    private static func parseHeader(
        _ header: Data, path: String, dataStart: Int, dataSize: Int
    ) throws -> ([String: String], [String: SafetensorsTensorInfo]) {
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: header)
        } catch {
            throw SafetensorsError.badHeader(path: path, reason: "not valid JSON")
        }
        guard let object = json as? [String: Any] else {
            throw SafetensorsError.badHeader(path: path, reason: "not a JSON object")
        }
        var metadata: [String: String] = [:]
        var tensors: [String: SafetensorsTensorInfo] = [:]
        for (name, entry) in object {
            if name == "__metadata__" {
                guard let map = entry as? [String: Any] else {
                    throw SafetensorsError.badHeader(path: path, reason: "__metadata__ is not an object")
                }
                for (key, value) in map {
                    guard let string = value as? String else {
                        throw SafetensorsError.badHeader(path: path, reason: "__metadata__ '\(key)' is not a string")
                    }
                    metadata[key] = string
                }
                continue
            }
            tensors[name] = try parseEntry(entry, name: name, path: path, dataStart: dataStart, dataSize: dataSize)
        }
        return (metadata, tensors)
    }

    private static func parseEntry(
        _ entry: Any, name: String, path: String, dataStart: Int, dataSize: Int
    ) throws -> SafetensorsTensorInfo {
        func bad(_ reason: String) -> SafetensorsError { .badTensorEntry(path: path, tensor: name, reason: reason) }
        guard let fields = entry as? [String: Any] else { throw bad("entry is not an object") }
        guard let dtypeName = fields["dtype"] as? String else { throw bad("no dtype string") }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
            throw SafetensorsError.unknownDType(path: path, tensor: name, dtype: dtypeName)
        }
        guard let shapeValues = fields["shape"] as? [Any], let shape = integers(shapeValues) else {
            throw bad("shape is not a list of integers")
        }
        guard shape.allSatisfy({ $0 >= 0 && $0 <= Int(Int32.max) }) else { throw bad("shape \(shape) is out of range") }
        guard let offsetValues = fields["data_offsets"] as? [Any], let offsets = integers(offsetValues), offsets.count == 2
        else { throw bad("data_offsets is not a pair of integers") }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin >= 0, begin <= end, end <= dataSize else {
            throw SafetensorsError.offsetsOutOfRange(path: path, tensor: name, begin: begin, end: end, dataSize: dataSize)
        }
        var count = 1
        for d in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, product <= 1 << 40 else { throw bad("shape \(shape) has too many elements") }
            count = product
        }
        guard count * dtype.size == end - begin else {
            throw SafetensorsError.sizeMismatch(
                path: path, tensor: name, expectedBytes: count * dtype.size, actualBytes: end - begin)
        }
        return SafetensorsTensorInfo(
            name: name, dtype: dtype, shape: shape, elementCount: count, byteCount: end - begin, offset: dataStart + begin)
    }

    /// JSON numbers that are all whole and fit in `Int`, or nil. `as? Int` refuses 1.5;
    /// booleans (NSNumbers of ObjC type `c`) are refused explicitly, as they bridge to 0 and 1.
    private static func integers(_ values: [Any]) -> [Int]? {
        var result: [Int] = []
        for value in values {
            guard let number = value as? NSNumber, String(cString: number.objCType) != "c",
                let integer = value as? Int
            else { return nil }
            result.append(integer)
        }
        return result
    }
}

/// One tensor's dtype, shape and place in a safetensors file.
public struct SafetensorsTensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: SafetensorsDType
    /// PyTorch order: the last dimension is contiguous.
    public let shape: [Int]
    public let elementCount: Int
    public let byteCount: Int
    /// Absolute offset in the file.
    public let offset: Int
}
