import Foundation
import PipelineTesting
import Testing

@testable import PipelineModels

/// The real model folders other than GGUF (safetensors weights, CTranslate2 `model.bin`, BERT's
/// `config.json`, `tokenizer.json` and `vocab.txt`, Whisper's vocabulary), each damaged by a
/// few seeded byte changes: every load either succeeds or throws, never traps or allocates
/// what a corrupted field says. `MODEL_MUTATIONS=N` runs more cases per file (default 25).
@Suite("Untrusted model files", .serialized)
struct UntrustedModelFilesTests {
    static let mutations = ProcessInfo.processInfo.environment["MODEL_MUTATIONS"].flatMap(Int.init) ?? 25

    /// One file of a model folder to damage, and how the folder is loaded.
    struct Target: CustomTestStringConvertible, Sendable {
        let folder: String
        let file: String
        /// Bytes at the start of the file where the header or the text lies (nil: the whole file).
        let window: Int?
        let load: @Sendable (String) throws -> Void
        /// Where the headers lie when they are spread through the file (CTranslate2 writes each
        /// variable's name, shape and size just before its bytes): ranges to damage instead.
        var headers: (@Sendable (String) throws -> [Range<Int>])? = nil
        var testDescription: String { "\(folder)/\(file)" }
    }

    static let targets: [Target] = {
        let whisper: @Sendable (String) throws -> Void = { _ = try WhisperModel(directory: URL(fileURLWithPath: $0)) }
        let minilm: @Sendable (String) throws -> Void = { _ = try SentenceEncoder(folder: $0) }
        return [
            Target(folder: "whisper-tiny.en", file: "model.bin", window: nil, load: whisper) { path in
                // The 64 bytes before each variable hold its name's tail, rank, dims, dtype and size.
                try CT2File(path: path).variables.values.map { max(0, $0.offset - 64)..<$0.offset }
            },
            Target(folder: "whisper-tiny.en", file: "config.json", window: nil, load: whisper),
            Target(folder: "whisper-tiny.en", file: "vocabulary.txt", window: nil, load: whisper),
            Target(folder: "all-MiniLM-L6-v2", file: "model.safetensors", window: 1 << 14, load: minilm),
            Target(folder: "all-MiniLM-L6-v2", file: "config.json", window: nil, load: minilm),
            Target(folder: "all-MiniLM-L6-v2", file: "tokenizer.json", window: 1 << 16, load: minilm),
            Target(folder: "all-MiniLM-L6-v2", file: "vocab.txt", window: nil, load: minilm),
            Target(folder: "efficientnet-lite0", file: "model.safetensors", window: 1 << 14) {
                _ = try EfficientNetModel(path: $0 + "/model.safetensors")
            },
            Target(folder: "silero-vad", file: "model.safetensors", window: 1 << 14) {
                _ = try SileroVADModel(path: $0 + "/model.safetensors")
            },
        ]
    }()

    /// True when every folder is present (or must be, in CI).
    static let available = targets.allSatisfy { FileManager.default.fileExists(atPath: modelFolder + "/" + $0.folder) }
        || ProcessInfo.processInfo.environment["CI"] != nil

    @Test("seeded byte changes give a load or an error", .enabled(if: available), arguments: targets)
    func mutate(_ target: Target) throws {
        let source = modelFolder + "/" + target.folder
        #expect(FileManager.default.fileExists(atPath: source), "\(source) is missing: run scripts/setup")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("untrusted-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The damaged file is a copy; the others are links to the originals.
        for name in try FileManager.default.contentsOfDirectory(atPath: source) where name != target.file {
            try FileManager.default.createSymbolicLink(atPath: dir + "/" + name, withDestinationPath: source + "/" + name)
        }
        let path = dir + "/" + target.file
        try FileManager.default.copyItem(atPath: source + "/" + target.file, toPath: path)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        let ranges = try target.headers?(path) ?? [0..<min(size, target.window ?? size)]
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        defer { try? handle.close() }
        func byte(at offset: Int) throws -> UInt8 {
            try handle.seek(toOffset: UInt64(offset))
            return try #require(try handle.read(upToCount: 1)?.first)
        }
        func set(_ value: UInt8, at offset: Int) throws {
            try handle.seek(toOffset: UInt64(offset))
            try handle.write(contentsOf: Data([value]))
        }

        try target.load(dir)  // the undamaged folder loads
        var rng = SplitMix(seed: 20_261_206 &+ UInt64(target.file.utf8.count))
        var refused = 0
        for _ in 0..<Self.mutations {
            var saved: [(Int, UInt8)] = []
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let range = ranges[Int(rng.next() % UInt64(ranges.count))]
                let offset = range.lowerBound + Int(rng.next() % UInt64(range.count))
                saved.append((offset, try byte(at: offset)))
                try set(UInt8(truncatingIfNeeded: rng.next()), at: offset)
            }
            do { try target.load(dir) } catch { refused += 1 }
            for (offset, value) in saved.reversed() { try set(value, at: offset) }
        }
        try target.load(dir)  // restored
        print("\(target.testDescription): \(Self.mutations) mutations, \(refused) refused with an error")
    }
}
