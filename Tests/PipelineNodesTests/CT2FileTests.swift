import Foundation
import PipelineModels
import Testing

/// The CTranslate2 `model.bin` reader on small hand-made files: values, aliases, and an error
/// (never a crash) for every truncation.
@Suite("CT2 file")
struct CT2FileTests {
    /// version 6, spec "TestSpec", revision 1, one F16 variable `a` [2] = (1.5, -2), one I8
    /// scalar `n` = 6, alias `b` → `a`.
    static func sample() -> [UInt8] {
        var b: [UInt8] = []
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
        func str(_ s: String) { u16(UInt16(s.utf8.count + 1)); b += Array(s.utf8) + [0] }
        u32(6); str("TestSpec"); u32(1); u32(2)
        str("a"); b.append(1); u32(2); b.append(4); u32(4)
        u16(Float16(1.5).bitPattern); u16(Float16(-2).bitPattern)
        str("n"); b.append(0); b.append(1); u32(1); b.append(6)
        u32(1); str("b"); str("a")
        return b
    }

    static func write(_ bytes: [UInt8]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ct2-\(getpid())-\(UUID().uuidString).bin").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func readsVariablesAndAliases() throws {
        let path = try Self.write(Self.sample())
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try CT2File(path: path)
        #expect(file.specName == "TestSpec" && file.version == 6 && file.revision == 1)
        #expect(try file.floats("a", shape: [2]) == [1.5, -2])
        #expect(try file.floats("b", shape: [2]) == [1.5, -2])
        #expect(file.integer("n") == 6)
        #expect(throws: CT2Error.self) { try file.floats("a", shape: [3]) }
        #expect(throws: CT2Error.self) { try file.floats("missing", shape: [1]) }
        #expect(throws: CT2Error.self) { try file.floats("n", shape: []) }
    }

    @Test func everyTruncationIsAnError() throws {
        let bytes = Self.sample()
        // The alias table is optional; every cut before it must fail.
        let aliasStart = bytes.count - (4 + 2 + 2 + 2 + 2)
        for cut in 0..<aliasStart {
            let path = try Self.write(Array(bytes.prefix(cut)))
            defer { try? FileManager.default.removeItem(atPath: path) }
            #expect(throws: CT2Error.self, "cut at \(cut)") { try CT2File(path: path) }
        }
    }

    @Test func sizeMismatchNamesTheVariable() throws {
        var bytes = Self.sample()
        // The byte size of `a` sits after version, spec, revision, count, name, rank, dim, dtype.
        let sizeOffset = 4 + 2 + 9 + 4 + 4 + 2 + 2 + 1 + 4 + 1
        bytes[sizeOffset] = 6
        let path = try Self.write(bytes)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: CT2Error.sizeMismatch(path: path, variable: "a", expectedBytes: 4, actualBytes: 6)) {
            try CT2File(path: path)
        }
    }
}
