import Foundation
import Testing

@testable import PipelineModels

/// Builds small safetensors files: a JSON header (written as given) and data bytes.
func safetensors(header: String, data: [UInt8], headerLength: UInt64? = nil) -> [UInt8] {
    var bytes: [UInt8] = []
    let json = Array(header.utf8)
    withUnsafeBytes(of: (headerLength ?? UInt64(json.count)).littleEndian) { bytes += $0 }
    return bytes + json + data
}

/// A valid file: `a` F32 [2, 2], `b` F16 [3], `c` BF16 [2], `d` I64 [2], and metadata.
func validSafetensors() -> [UInt8] {
    var data: [UInt8] = []
    for f: Float in [1, -2, 0.5, 4] { withUnsafeBytes(of: f.bitPattern.littleEndian) { data += $0 } }
    for h: Float16 in [1.5, -0.25, 65504] { withUnsafeBytes(of: h.bitPattern.littleEndian) { data += $0 } }
    for f: Float in [3, -1.5] { withUnsafeBytes(of: UInt16(f.bitPattern >> 16).littleEndian) { data += $0 } }
    for i: Int64 in [7, -9] { withUnsafeBytes(of: i.littleEndian) { data += $0 } }
    let header = """
        {"__metadata__":{"format":"pt"},
         "a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},
         "b":{"dtype":"F16","shape":[3],"data_offsets":[16,22]},
         "c":{"dtype":"BF16","shape":[2],"data_offsets":[22,26]},
         "d":{"dtype":"I64","shape":[2],"data_offsets":[26,42]}}
        """
    return safetensors(header: header, data: data)
}

@Suite("safetensors reader")
struct SafetensorsTests {
    @Test("a small valid file reads back in every dtype")
    func valid() throws {
        let file = try SafetensorsFile(path: write(validSafetensors(), name: "ok.safetensors"))
        #expect(file.metadata == ["format": "pt"])
        #expect(file.tensors.keys.sorted() == ["a", "b", "c", "d"])
        #expect(try file.floats("a", shape: [2, 2]) == [1, -2, 0.5, 4])
        #expect(try file.floats("b", shape: [3]) == [1.5, -0.25, 65504])
        #expect(try file.floats("c", shape: [2]) == [3, -1.5])
        #expect(try file.int64s("d", shape: [2]) == [7, -9])
    }

    @Test("a missing or misshapen tensor names the tensor and the expected shape")
    func missingAndMisshapen() throws {
        let path = write(validSafetensors(), name: "ok.safetensors")
        let file = try SafetensorsFile(path: path)
        #expect(throws: SafetensorsError.missingTensor(path: path, tensor: "zz", expectedShape: [4])) {
            try file.floats("zz", shape: [4])
        }
        #expect(throws: SafetensorsError.wrongShape(path: path, tensor: "a", expected: [4], actual: [2, 2])) {
            try file.floats("a", shape: [4])
        }
        #expect(throws: SafetensorsError.wrongDType(path: path, tensor: "d", expected: "F32, F16 or BF16", actual: .i64)) {
            try file.floats("d", shape: [2])
        }
        let message = SafetensorsError.wrongShape(path: path, tensor: "a", expected: [4], actual: [2, 2]).description
        #expect(message.contains(path) && message.contains("'a'") && message.contains("[4]"))
    }

    /// Broken files, each with the error it must give (and no crash).
    static let broken: [(String, [UInt8], @Sendable (String) -> SafetensorsError)] = [
        ("empty", [], { .truncated(path: $0, fileSize: 0) }),
        ("shorter than the length", [1, 0, 0], { .truncated(path: $0, fileSize: 3) }),
        ("truncated data", Array(validSafetensors().dropLast(5)), {
            .offsetsOutOfRange(path: $0, tensor: "d", begin: 26, end: 42, dataSize: 37)
        }),
        ("header length past the end", safetensors(header: "{}", data: [], headerLength: 1000), {
            .badHeaderLength(path: $0, length: 1000, fileSize: 10)
        }),
        ("absurd header length", safetensors(header: "{}", data: [], headerLength: UInt64.max), {
            .badHeaderLength(path: $0, length: UInt64.max, fileSize: 10)
        }),
        ("header not JSON", safetensors(header: "{nope", data: []), { .badHeader(path: $0, reason: "not valid JSON") }),
        ("header a list", safetensors(header: "[1,2]", data: []), { .badHeader(path: $0, reason: "not a JSON object") }),
        ("unknown dtype", safetensors(header: #"{"x":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}"#, data: [0]), {
            .unknownDType(path: $0, tensor: "x", dtype: "Q4")
        }),
        ("offsets out of range", safetensors(header: #"{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: [0, 0]), {
            .offsetsOutOfRange(path: $0, tensor: "x", begin: 0, end: 16, dataSize: 2)
        }),
        ("offsets reversed", safetensors(header: #"{"x":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}"#, data: [0, 0, 0, 0]), {
            .offsetsOutOfRange(path: $0, tensor: "x", begin: 4, end: 0, dataSize: 4)
        }),
        ("size not matching the shape", safetensors(header: #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), {
            .sizeMismatch(path: $0, tensor: "x", expectedBytes: 8, actualBytes: 4)
        }),
        ("negative shape", safetensors(header: #"{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), {
            .badTensorEntry(path: $0, tensor: "x", reason: "shape [-1] is out of range")
        }),
        ("fractional offsets", safetensors(header: #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4.5]}}"#, data: [0, 0, 0, 0]), {
            .badTensorEntry(path: $0, tensor: "x", reason: "data_offsets is not a pair of integers")
        }),
        ("overflowing shape", safetensors(header: #"{"x":{"dtype":"F32","shape":[2000000000,2000000000,2000000000],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), {
            .badTensorEntry(path: $0, tensor: "x", reason: "shape [2000000000, 2000000000, 2000000000] has too many elements")
        }),
    ]

    @Test("malformed files give a clear error naming the file", arguments: broken.indices)
    func malformed(_ index: Int) {
        let (name, bytes, expected) = Self.broken[index]
        let path = write(bytes, name: "bad.safetensors")
        #expect(throws: expected(path), "\(name)") { try SafetensorsFile(path: path) }
        #expect(expected(path).description.hasPrefix(path))
    }

    @Test("a missing file is an error, not a crash")
    func missingFile() {
        #expect(throws: SafetensorsError.self) { try SafetensorsFile(path: "/nonexistent/model.safetensors") }
    }

    @Test("the MiniLM file: 104 tensors, position_ids 0..<512", .enabled(if: minilmAvailable))
    func realFile() throws {
        let folder = try #require(minilmFolder())
        let file = try SafetensorsFile(path: folder + "/model.safetensors")
        #expect(file.tensors.count == 104)
        #expect(try file.int64s("embeddings.position_ids", shape: [1, 512]) == (0..<512).map(Int64.init))
        #expect(file.tensors["embeddings.word_embeddings.weight"]?.shape == [30522, 384])
    }
}
