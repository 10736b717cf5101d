import Foundation
import PipelineTesting
import Testing

@testable import PipelineModels

/// A downloaded model file is untrusted input: a few changed bytes in a real GGUF must give
/// an error, never a crash (`Fatal error: failed to allocate 454729673056 bytes` was the
/// reported one: `llama.block_count` with a high byte set sized a list of blocks).
///
/// The mutation loop is seeded, so every case repeats: `GGUF_MUTATIONS=N` runs more (CI runs
/// the default 150), `GGUF_SEED=S` another seed. A case loads the model, its tokenizer and
/// chat template as `pipeline generate` does and, when that succeeds, generates one token.
@Suite("Untrusted GGUF files", .serialized, .enabled(if: modelPresent(smolLM2File)))
struct UntrustedGGUFTests {
    static let mutations = ProcessInfo.processInfo.environment["GGUF_MUTATIONS"].flatMap(Int.init) ?? 150
    static let seed = ProcessInfo.processInfo.environment["GGUF_SEED"].flatMap(UInt64.init) ?? 20_261_206

    /// A private copy of the real file, patched in place by each case and restored after it.
    final class Copy {
        let path: String
        let original: [UInt8]
        let handle: FileHandle

        init(of source: String, keeping prefix: Int) throws {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("untrusted-gguf-\(UUID())").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            path = dir + "/mutated.gguf"
            try FileManager.default.copyItem(atPath: source, toPath: path)
            let reader = try #require(FileHandle(forReadingAtPath: path))
            original = [UInt8](try #require(try reader.read(upToCount: prefix)))
            try reader.close()
            handle = try #require(FileHandle(forUpdatingAtPath: path))
        }

        func patch(_ bytes: [UInt8], at offset: Int) throws {
            try handle.seek(toOffset: UInt64(offset))
            try handle.write(contentsOf: Data(bytes))
            try handle.synchronize()
        }

        func restore() throws { try patch(original, at: 0) }

        deinit {
            try? handle.close()
            try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent)
        }
    }

    /// Loads as `pipeline generate` does and generates one token; a thrown error is a pass.
    static func exercise(_ path: String) -> String? {
        do {
            let loaded = try LoadedModel(path: path)
            let prompt = loaded.tokenizer.encode("Hi", parseSpecial: true, addSpecial: true)
            if let template = loaded.chatTemplate {
                _ = try template.render([ChatMessage(role: "user", content: "Hi")])
            }
            _ = try loaded.generate(GenerationRequest(prompt: prompt.isEmpty ? [0] : prompt, maxTokens: 1))
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// The byte offset of the u32 value of metadata key `key` (stored as type 4 or 5).
    static func offsetOfU32(_ key: String, in bytes: [UInt8]) throws -> Int {
        var pattern: [UInt8] = []
        withUnsafeBytes(of: UInt64(key.utf8.count).littleEndian) { pattern += $0 }
        pattern += Array(key.utf8)
        let start = try #require(bytes.indices.first { i in
            i + pattern.count <= bytes.count && bytes[i..<(i + pattern.count)].elementsEqual(pattern)
        }, "\(key) not found")
        return start + pattern.count + 4
    }

    @Test("the reported input: block_count with a high byte set (and other huge sizes) is an error naming the key",
          arguments: [
            ("llama.block_count", UInt32(0x4000_001E)), ("llama.block_count", .max), ("llama.embedding_length", 0x4000_0240),
            ("llama.feed_forward_length", .max), ("llama.context_length", .max), ("llama.attention.head_count", 0x7F00_0009),
            ("llama.attention.head_count_kv", 0x0100_0003),
          ])
    func reportedInput(key: String, value: UInt32) throws {
        // The KV head count is checked with the head count and size it must divide.
        let named = key == "llama.attention.head_count_kv" ? "llama.attention" : key
        let source = try #require(model(LlamaParityTests.file))
        let copy = try Copy(of: source, keeping: 4096)
        let offset = try Self.offsetOfU32(key, in: copy.original)
        try copy.patch(withUnsafeBytes(of: value.littleEndian) { Array($0) }, at: offset)
        let error = try #require(Self.exercise(copy.path), "a file with \(key) = \(value) loaded")
        #expect(error.contains("'\(named)'"), "\(error)")
    }

    @Test("seeded mutations of the first 2 MB: every case loads and runs, or fails with an error")
    func mutations() throws {
        let source = try #require(model(LlamaParityTests.file))
        let window = 2 << 20
        let copy = try Copy(of: source, keeping: window)
        let infosEnd = try GGUFFile(path: source).dataOffset
        var rng = SplitMix(seed: Self.seed)
        var failures: [String: Int] = [:]
        var loaded = 0
        for _ in 0..<Self.mutations {
            // A third of the cases hit the scalar metadata, a third the tensor infos, a third anywhere.
            let region: Range<Int> = switch rng.next() % 3 {
            case 0: 24..<4096
            case 1: max(0, infosEnd - 16_384)..<min(window, infosEnd)
            default: 0..<window
            }
            var bytes = copy.original
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                bytes[region.lowerBound + Int(rng.next() % UInt64(region.count))] = UInt8(truncatingIfNeeded: rng.next())
            }
            try copy.patch(bytes, at: 0)
            if let error = Self.exercise(copy.path) {
                // Group by message with the path and numbers taken out.
                let kind = String(error.replacingOccurrences(of: copy.path, with: "").filter { !$0.isNumber }.prefix(60))
                failures[kind, default: 0] += 1
            } else {
                loaded += 1
            }
            try copy.restore()
        }
        print("GGUF mutations: \(Self.mutations) cases, \(loaded) loaded and ran, refusals by kind:")
        for (kind, count) in failures.sorted(by: { $0.value > $1.value }) { print("  \(count)  \(kind)") }
        #expect(loaded + failures.values.reduce(0, +) == Self.mutations)
        #expect(!failures.isEmpty, "no mutation was refused: the mutations did not reach the parser")
        #expect(Self.exercise(copy.path) == nil, "the restored file must load")
    }
}
