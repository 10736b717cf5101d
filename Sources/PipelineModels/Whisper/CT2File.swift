import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One variable of a CTranslate2 model: its shape, dtype and where its bytes lie in the file.
public struct CT2Variable: Sendable, Equatable {
    public let name: String
    public let shape: [Int]
    public let dtype: CT2DType
    public let offset: Int
    public let byteCount: Int
}

/// A CTranslate2 `model.bin`, memory-mapped read-only.
///
/// Layout (little-endian, as `ctranslate2/specs/model_spec.py` writes it): `u32` binary
/// version; the spec name; `u32` revision; `u32` variable count; per variable its name,
/// `u8` rank, rank × `u32` dims, `u8` dtype id, `u32` byte size and the bytes; then `u32`
/// alias count and (alias, target) name pairs. A string is a `u16` length that counts a
/// trailing NUL, then the bytes. Every length is checked against the file, so a truncated or
/// hostile file gives a `CT2Error` naming the file and variable, never a crash.
public final class CT2File: @unchecked Sendable {
    public let path: String
    public let fileSize: Int
    public let version: UInt32
    /// The model spec, e.g. `WhisperSpec`.
    public let specName: String
    public let revision: UInt32
    /// Variables by name, aliases included (an alias maps to its target's entry).
    public let variables: [String: CT2Variable]
    private let mapping: MappedFile
    private let base: UnsafeRawPointer

    public init(path: String) throws {
        self.path = path
        do {
            mapping = try MappedFile(path: path)
        } catch let error as MappedFile.OpenError {
            throw CT2Error.cannotOpen(path: path, reason: error.reason)
        }
        fileSize = mapping.size
        guard fileSize > 0 else { throw CT2Error.truncated(path: path, offset: 0, need: 4, fileSize: 0, what: "version") }
        base = mapping.base
        var reader = CT2Reader(base: base, size: fileSize, path: path)
        version = try reader.u32("version")
        guard (3...6).contains(version) else { throw CT2Error.unsupportedVersion(path: path, version: version) }
        specName = try reader.string()
        revision = try reader.u32("revision")
        var found: [String: CT2Variable] = [:]
        let count = try reader.u32("variable count")
        for _ in 0..<count {
            let variable = try reader.variable()
            found[variable.name] = variable
        }
        if reader.offset < fileSize {
            let aliases = try reader.u32("alias count")
            for _ in 0..<aliases {
                let alias = try reader.string()
                let target = try reader.string()
                if let v = found[target] { found[alias] = v }
            }
        }
        variables = found
    }

    /// The raw bytes of a variable, in place in the mapping (valid while the file is alive).
    public func data(of variable: CT2Variable) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + variable.offset, count: variable.byteCount)
    }

    /// The variable named `name`, checked to have `shape`.
    public func variable(_ name: String, shape: [Int]) throws -> CT2Variable {
        guard let v = variables[name] else { throw CT2Error.missingVariable(path: path, variable: name, expectedShape: shape) }
        guard v.shape == shape else { throw CT2Error.wrongShape(path: path, variable: name, expected: shape, actual: v.shape) }
        return v
    }

    /// A floating-point variable (F32, F16 or BF16) converted to `Float`, checked to have `shape`.
    public func floats(_ name: String, shape: [Int]) throws -> [Float] {
        let v = try variable(name, shape: shape)
        let raw = data(of: v)
        let count = v.byteCount / v.dtype.size
        switch v.dtype {
        case .float32:
            return (0..<count).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
        case .float16:
            return (0..<count).map { Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self))) }
        case .bfloat16:
            return (0..<count).map {
                Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)) << 16)
            }
        default:
            throw CT2Error.wrongDType(path: path, variable: name, expected: "a float type", actual: v.dtype)
        }
    }

    /// The raw half-precision bit patterns of an F16 variable checked to have `shape`, or nil
    /// when it is stored in another type.
    public func halves(_ name: String, shape: [Int]) throws -> [UInt16]? {
        let v = try variable(name, shape: shape)
        guard v.dtype == .float16 else { return nil }
        let raw = data(of: v)
        return (0..<v.byteCount / 2).map { raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self) }
    }

    /// A scalar integer variable (such as `encoder/num_heads`), or nil when absent.
    public func integer(_ name: String) -> Int? {
        guard let v = variables[name], v.shape.isEmpty else { return nil }
        let raw = data(of: v)
        switch v.dtype {
        case .int8: return Int(raw.loadUnaligned(as: Int8.self))
        case .int16: return Int(raw.loadUnaligned(as: Int16.self))
        case .int32: return Int(raw.loadUnaligned(as: Int32.self))
        default: return nil
        }
    }
}

/// A bounds-checked cursor over the mapped file.
private struct CT2Reader {
    let base: UnsafeRawPointer
    let size: Int
    let path: String
    var offset = 0

    init(base: UnsafeRawPointer, size: Int, path: String) {
        self.base = base
        self.size = size
        self.path = path
    }

    mutating func need(_ n: Int, _ what: String) throws {
        guard n >= 0, offset <= size, n <= size - offset else {
            throw CT2Error.truncated(path: path, offset: offset, need: n, fileSize: size, what: what)
        }
    }

    mutating func u8(_ what: String) throws -> UInt8 {
        try need(1, what)
        defer { offset += 1 }
        return base.load(fromByteOffset: offset, as: UInt8.self)
    }

    mutating func u16(_ what: String) throws -> UInt16 {
        try need(2, what)
        defer { offset += 2 }
        return UInt16(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    mutating func u32(_ what: String) throws -> UInt32 {
        try need(4, what)
        defer { offset += 4 }
        return UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    mutating func string() throws -> String {
        let start = offset
        let length = Int(try u16("string length"))
        guard length >= 1 else { throw CT2Error.badString(path: path, offset: start) }
        try need(length, "string")
        let bytes = UnsafeRawBufferPointer(start: base + offset, count: length - 1)
        guard let s = String(validating: bytes, as: UTF8.self) else { throw CT2Error.badString(path: path, offset: start) }
        offset += length
        return s
    }

    mutating func variable() throws -> CT2Variable {
        let name = try string()
        let rank = Int(try u8("rank of '\(name)'"))
        var shape: [Int] = []
        for _ in 0..<rank { shape.append(Int(try u32("dims of '\(name)'"))) }
        let id = try u8("dtype of '\(name)'")
        guard let dtype = CT2DType(rawValue: id) else { throw CT2Error.unknownDType(path: path, variable: name, dtype: id) }
        let bytes = Int(try u32("size of '\(name)'"))
        var expected = dtype.size
        for d in shape {
            let (p, overflow) = expected.multipliedReportingOverflow(by: d)
            guard !overflow else { throw CT2Error.sizeMismatch(path: path, variable: name, expectedBytes: Int.max, actualBytes: bytes) }
            expected = p
        }
        guard expected == bytes else {
            throw CT2Error.sizeMismatch(path: path, variable: name, expectedBytes: expected, actualBytes: bytes)
        }
        try need(bytes, "data of '\(name)'")
        defer { offset += bytes }
        return CT2Variable(name: name, shape: shape, dtype: dtype, offset: offset, byteCount: bytes)
    }
}
