import PipelineTensor
import Foundation
import Testing

@testable import PipelineModels

/// Builds small GGUF files byte by byte, valid or broken on purpose.
struct GGUFBuilder {
    var bytes: [UInt8] = []

    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func string(_ s: String) {
        u64(UInt64(s.utf8.count))
        bytes += Array(s.utf8)
    }

    /// A valid v3 file: two metadata keys (a string and an array) and two tensors (F32 4x2, Q8_0 32x1).
    static func valid() -> [UInt8] {
        var b = GGUFBuilder()
        b.u32(0x4655_4747)
        b.u32(3)
        b.u64(2)  // tensors
        b.u64(3)  // metadata
        b.string("general.architecture")
        b.u32(8)
        b.string("llama")
        b.string("general.alignment")
        b.u32(4)
        b.u32(32)
        b.string("tokenizer.ggml.scores")
        b.u32(9)
        b.u32(6)
        b.u64(3)
        for f: Float in [0.5, -1, 2] { b.u32(f.bitPattern) }
        b.string("a.weight")
        b.u32(2)
        b.u64(4)
        b.u64(2)
        b.u32(GGMLType.f32.rawValue)
        b.u64(0)
        b.string("b.weight")
        b.u32(1)
        b.u64(32)
        b.u32(GGMLType.q8_0.rawValue)
        b.u64(32)
        while b.bytes.count % 32 != 0 { b.bytes.append(0) }
        for i in 0..<8 { b.u32(Float(i).bitPattern) }  // a: 32 bytes
        b.bytes += [UInt8](repeating: 7, count: 34)  // b: one Q8_0 block
        return b.bytes
    }
}

func write(_ bytes: [UInt8], name: String = "t.gguf") -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-\(UUID())").path
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let path = dir + "/" + name
    FileManager.default.createFile(atPath: path, contents: Data(bytes))
    return path
}

@Suite("GGUF reader on malformed files")
struct GGUFMalformedTests {
    @Test("a small valid file reads back")
    func valid() throws {
        let path = write(GGUFBuilder.valid())
        let gguf = try GGUFFile(path: path)
        #expect(gguf.architecture == "llama")
        #expect(gguf["tokenizer.ggml.scores"] == .array([.float32(0.5), .float32(-1), .float32(2)]))
        #expect(gguf.tensors.map(\.name) == ["a.weight", "b.weight"])
        let a = try #require(gguf.tensor(named: "a.weight"))
        let floats = gguf.data(of: a).bindMemory(to: Float.self)
        #expect(Array(floats) == [0, 1, 2, 3, 4, 5, 6, 7])
        #expect(gguf.tensor(named: "b.weight")?.byteCount == 34)
    }

    @Test("truncated at every byte: always an error that names the file, never a crash")
    func truncations() throws {
        let valid = GGUFBuilder.valid()
        for length in 0..<valid.count {
            let path = write(Array(valid.prefix(length)))
            do {
                _ = try GGUFFile(path: path)
                Issue.record("truncated to \(length) bytes but read fine")
            } catch let error as GGUFError {
                #expect("\(error)".hasPrefix(path), "\(error)")
            }
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    @Test("bad magic and version 1")
    func header() throws {
        var bytes = GGUFBuilder.valid()
        bytes[0] ^= 0xFF
        let magic = write(bytes)
        #expect(throws: GGUFError.badMagic(path: magic)) { try GGUFFile(path: magic) }
        var old = GGUFBuilder.valid()
        old[4] = 1
        let v1 = write(old)
        #expect(throws: GGUFError.unsupportedVersion(path: v1, version: 1)) { try GGUFFile(path: v1) }
    }

    @Test("absurd counts are refused before anything is allocated")
    func absurdCounts() throws {
        var b = GGUFBuilder()
        b.u32(0x4655_4747)
        b.u32(3)
        b.u64(UInt64.max)
        b.u64(1)
        b.bytes += [UInt8](repeating: 0, count: 64)
        let path = write(b.bytes)
        #expect(throws: GGUFError.absurdCount(path: path, what: "tensor", count: UInt64.max)) { try GGUFFile(path: path) }

        var c = GGUFBuilder()
        c.u32(0x4655_4747)
        c.u32(3)
        c.u64(0)
        c.u64(1)
        c.string("tokenizer.ggml.tokens")
        c.u32(9)
        c.u32(8)
        c.u64(1 << 40)
        let arrayPath = write(c.bytes)
        #expect(throws: GGUFError.absurdCount(path: arrayPath, what: "'tokenizer.ggml.tokens' element", count: 1 << 40)) {
            try GGUFFile(path: arrayPath)
        }
    }

    @Test("an unknown tensor type names the tensor")
    func unknownType() throws {
        var bytes = GGUFBuilder.valid()
        // b.weight's type field: find "b.weight" and patch the u32 after its dims.
        let name = Array("b.weight".utf8)
        let at = (0...(bytes.count - name.count)).first { Array(bytes[$0..<$0 + name.count]) == name }!
        let typeOffset = at + name.count + 4 + 8
        bytes[typeOffset] = 99
        let path = write(bytes)
        #expect(throws: GGUFError.unknownTensorType(path: path, tensor: "b.weight", type: 99)) { try GGUFFile(path: path) }
    }

    @Test("tensor data past the end of the file is refused")
    func outOfRange() throws {
        let bytes = Array(GGUFBuilder.valid().dropLast(10))
        let path = write(bytes)
        do {
            _ = try GGUFFile(path: path)
            Issue.record("read a file whose tensor data is cut short")
        } catch GGUFError.tensorOutOfRange(_, let tensor, _, _, _) {
            #expect(tensor == "b.weight")
        }
    }

    @Test("random bytes and random corruptions never crash")
    func fuzz() throws {
        let valid = GGUFBuilder.valid()
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
        for _ in 0..<500 {
            var bytes = valid
            for _ in 0..<(1 + Int(next() % 4)) {
                bytes[Int(next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: next())
            }
            let path = write(bytes)
            do { _ = try GGUFFile(path: path) } catch is GGUFError {}
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    @Test("a directory and a missing file are clear errors")
    func notFiles() {
        #expect(throws: GGUFError.self) { try GGUFFile(path: "/nonexistent/model.gguf") }
        #expect(throws: GGUFError.cannotOpen(path: "/tmp", reason: "not a regular file")) { try GGUFFile(path: "/tmp") }
    }
}
