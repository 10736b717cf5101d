import Foundation
import PipelineCore
import PipelineModels
import PipelineNodes
import PipelineTesting
import Testing

/// SmolLM2 through `llm.generate` (skipped where scripts/fetch-models has not run; in CI a
/// missing model fails the tests instead).
@Suite("llm.generate", .serialized)
struct LLMNodeTests {
    static let modelName = "SmolLM2-135M-Instruct.Q4_1.gguf"
    static var available: Bool { (try? LoadedModel.resolve(modelName)) != nil }
    static let inCI = ProcessInfo.processInfo.environment["CI"] != nil
    static let runs = available || inCI
    static let gemmaRuns = (try? LoadedModel.resolve("gemma-3-270m-q4_k_m.gguf")) != nil || inCI

    @Test(.enabled(if: runs)) func streamsTokensThenTextAndRecord() throws {
        _ = try LoadedModel.resolve(Self.modelName)
        let harness = try NodeHarness(builtin("llm.generate"), options: ["max_tokens": .int(12)])
        let out = try harness.process(.string("What is the capital of France?"), item: "q1")
        let pieces = out.filter { $0.port == "tokens" }
        let text = try #require(out.first { $0.port == "text" }?.value.stringValue)
        #expect(!pieces.isEmpty)
        #expect(pieces.map { $0.value.stringValue ?? "" }.joined() == text)
        #expect(pieces.map(\.sequence) == Array(0..<pieces.count))
        guard case .object(let record)? = out.first(where: { $0.port == "result" })?.value else {
            Issue.record("no result record")
            return
        }
        #expect(record["text"]?.stringValue == text)
        #expect(record["completion_tokens"]?.intValue ?? 0 >= 1)
        #expect(record["prompt_tokens"]?.intValue == 37)  // the ChatML prompt with the default system line
        // Greedy output equals the library's on the same prompt.
        let model = try LoadedModel.shared(path: LoadedModel.resolve(Self.modelName))
        let prompt = try model.chatTemplate!.render([ChatMessage(role: "user", content: "What is the capital of France?")])
        let direct = try model.generate(GenerationRequest(prompt: model.tokenizer.encode(prompt), maxTokens: 12))
        #expect(direct.text == text)
    }

    @Test(.enabled(if: runs)) func chatMessagesSystemAndStop() throws {
        _ = try LoadedModel.resolve(Self.modelName)
        let harness = try NodeHarness(builtin("llm.generate"), options: [
            "max_tokens": .int(30), "system": .string("You list things."), "stop": .array([.string(",")]),
        ])
        let messages: Value = .array([.object(["role": .string("user"), "content": .string("Name three colours.")])])
        let out = try harness.process(messages, item: "q2")
        let text = try #require(out.first { $0.port == "text" }?.value.stringValue)
        #expect(!text.contains(","))
        guard case .object(let record)? = out.first(where: { $0.port == "result" })?.value else {
            Issue.record("no result record")
            return
        }
        #expect(["stop", "eos", "max_tokens"].contains(record["finish_reason"]?.stringValue ?? ""))
    }

    @Test(.enabled(if: runs)) func badInputsFailTheItem() throws {
        _ = try LoadedModel.resolve(Self.modelName)
        let harness = try NodeHarness(builtin("llm.generate"), options: ["max_tokens": .int(4)])
        #expect(throws: NodeError.self) { try harness.process(.int(3), item: "n") }
        #expect(throws: NodeError.self) { try harness.process(.array([.string("no role")]), item: "m") }
        let long = String(repeating: "word ", count: 9000)
        let error = try #require(throws: NodeError.self) { try harness.process(.string(long), item: "long") }
        #expect(error.message.contains("context holds 8192"))
        let plain = try NodeHarness(builtin("llm.generate"), options: ["chat": .bool(false), "max_tokens": .int(4)])
        #expect(throws: NodeError.self) { try plain.process(.array([]), item: "x") }
    }

    @Test func missingModelFailsAtStart() {
        #expect(throws: (any Error).self) {
            try NodeHarness(builtin("llm.generate"), options: ["model": .string("no-such-model.gguf")])
        }
    }

    @Test("sampling options out of range are caught by validation", arguments: [
        ("temperature: -1", "temperature"), ("top_p: 0", "top_p"), ("top_k: -3", "top_k"),
        ("min_p: 1.5", "min_p"), ("max_tokens: 0", "max_tokens"), ("seed: x", "seed"),
    ])
    func validation(_ option: String, _ name: String) throws {
        let yaml = """
            version: 1
            nodes:
              - id: src
                type: source.files
                with: { paths: ["a.txt"] }
              - id: gen
                type: llm.generate
                inputs: { prompt: src.path }
                with: { \(option) }
            """
        let registry = NodeRegistry(BuiltinNodes.all)
        do {
            _ = try PipelineLoader(registry: registry).load(text: yaml)
            Issue.record("\(option) passed validation")
        } catch let failure as ValidationFailure {
            #expect(failure.description.contains(name), "\(failure)")
            #expect(failure.description.contains(":9:"), "\(failure)")
        }
    }

    /// Gemma 3 (no chat template): plain prompts give llama.cpp's greedy text; the default
    /// chat mode is refused when the node is built, naming the model.
    @Test(.enabled(if: gemmaRuns)) func gemmaPlainPromptAndNoTemplate() throws {
        let gemma = "gemma-3-270m-q4_k_m.gguf"
        _ = try LoadedModel.resolve(gemma)
        let harness = try NodeHarness(builtin("llm.generate"), options: [
            "model": .string(gemma), "chat": .bool(false), "max_tokens": .int(8),
        ])
        let out = try harness.process(.string("The capital of France is"), item: "g")
        // llama.cpp's greedy continuation (Tests/PipelineModelsTests/Golden/llama/gemma3.json).
        #expect(out.first { $0.port == "text" }?.value.stringValue == " the capital of the country of France.")
        let error = try #require(throws: (any Error).self) {
            try NodeHarness(builtin("llm.generate"), options: ["model": .string(gemma)])
        }
        #expect("\(error)".contains("has no chat template"), "\(error)")
    }
}
