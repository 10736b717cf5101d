import PipelineTensor
import Foundation
import Testing

@testable import PipelineModels

/// The model folder the setup script fills (scripts/fetch-models).
let modelFolder = ProcessInfo.processInfo.environment["PIPELINE_MODELS"]
    ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/pipeline/models").path

/// A model file from the model folder. Missing models fail in CI (which runs the setup
/// script) and skip locally with a recorded note.
func model(_ name: String) -> String? {
    let path = modelFolder + "/" + name
    if FileManager.default.fileExists(atPath: path) { return path }
    if ProcessInfo.processInfo.environment["CI"] != nil {
        Issue.record("model \(name) is missing from \(modelFolder): run scripts/fetch-models")
    }
    return nil
}

/// The GGUF files of the parity tests (top-level: a suite's traits cannot name its own members).
let smolLM2File = "SmolLM2-135M-Instruct.Q4_1.gguf"
let gemma3File = "gemma-3-270m-q4_k_m.gguf"

/// Whether a test needing model `name` runs: when the file is there, and always in CI (where
/// a missing model then fails the test). Elsewhere such a test is reported as skipped.
func modelPresent(_ name: String) -> Bool {
    FileManager.default.fileExists(atPath: modelFolder + "/" + name) || ProcessInfo.processInfo.environment["CI"] != nil
}

let goldenFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden").path

@Suite("GGUF reader on real files")
struct GGUFRealFileTests {
    /// Every tensor (name, dims, type, offset, size) and the scalar metadata agree with what
    /// llama.cpp's gguf-py reads (golden files from scripts/llm-reference/gguf-tensors.py).
    @Test("matches gguf-py", .enabled(if: modelPresent(smolLM2File) && modelPresent(gemma3File)), arguments: [
        ("SmolLM2-135M-Instruct.Q4_1.gguf", "smollm2-135m-q4_1.tsv"),
        ("gemma-3-270m-q4_k_m.gguf", "gemma-3-270m-q4_k_m.tsv"),
    ])
    func matchesReference(file: String, golden: String) throws {
        let path = try #require(model(file))
        let gguf = try GGUFFile(path: path)
        let lines = try String(contentsOfFile: goldenFolder + "/" + golden, encoding: .utf8).split(separator: "\n")
        var tensorLines = 0
        for line in lines {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            switch f[0] {
            case "tensor":
                tensorLines += 1
                let t = try #require(gguf.tensor(named: f[1]), "missing tensor \(f[1])")
                #expect(t.dimensions == f[2].split(separator: ",").map { Int($0)! }, "\(f[1])")
                #expect(t.type.rawValue == UInt32(f[3])!, "\(f[1])")
                #expect(t.offset == Int(f[4])!, "\(f[1])")
                #expect(t.byteCount == Int(f[5])!, "\(f[1])")
            case "scalar":
                switch f[1] {
                case "GGUF.version": #expect(gguf.version == UInt32(f[2])!)
                case "GGUF.tensor_count": #expect(gguf.tensors.count == Int(f[2])!)
                case "GGUF.kv_count": #expect(gguf.keys.count == Int(f[2])!)
                default:
                    let value = try #require(gguf[f[1]], "missing \(f[1])")
                    if f[2] == "True" || f[2] == "False" {
                        #expect(value == .bool(f[2] == "True"), "\(f[1])")
                    } else if let i = Int(f[2]) {
                        #expect(value.int == i, "\(f[1])")
                    } else {
                        #expect(abs(value.float! - Double(f[2])!) < 1e-9 * max(1, abs(Double(f[2])!)), "\(f[1])")
                    }
                }
            case "array":
                #expect(gguf[f[1]]?.array?.count == Int(f[2])!, "\(f[1])")
            case "string":
                let quoted = f[2]
                if quoted.hasPrefix("'") && !quoted.contains("\\") {
                    let expected = String(quoted.dropFirst().dropLast())
                    #expect(gguf[f[1]]?.string.map { String($0.prefix(60)) } == expected, "\(f[1])")
                }
            default:
                Issue.record("unknown golden line \(line)")
            }
        }
        #expect(tensorLines == gguf.tensors.count)
    }

    @Test("SmolLM2's layout: llama, 30 blocks, Q4_1 weights with a Q8_0 embedding", .enabled(if: modelPresent(smolLM2File)))
    func smolLM2() throws {
        let path = try #require(model("SmolLM2-135M-Instruct.Q4_1.gguf"))
        let gguf = try GGUFFile(path: path)
        #expect(gguf.architecture == "llama")
        #expect(gguf["llama.block_count"]?.int == 30)
        #expect(gguf.tensor(named: "token_embd.weight")?.type == .q8_0)
        #expect(gguf.tensor(named: "token_embd.weight")?.dimensions == [576, 49152])
        let types = Dictionary(grouping: gguf.tensors, by: \.type).mapValues(\.count)
        #expect(types == [.q4_1: 210, .q8_0: 1, .f32: 61])
        #expect(gguf["tokenizer.ggml.tokens"]?.array?[2] == .string("<|im_end|>"))
        #expect(gguf.dataOffset % gguf.alignment == 0)
    }
}
