import Foundation
import PipelineCore
import PipelineModels
import PipelineTesting
import Testing

@testable import PipelineNodes

/// `fusion.projector`, `fusion.resampler` and `llm.generate`'s prefix: shapes checked against
/// the models on either side, the prefix placed where the user turn begins, bad input as
/// clear errors. Weights are the random-weight goldens of scripts/fusion/fusion-goldens.py.
@Suite("fusion nodes", .serialized)
struct FusionNodeTests {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().path
        + "/PipelineModelsTests/Golden/fusion"
    static let modelName = "SmolLM2-135M-Instruct.Q4_1.gguf"
    static let inCI = ProcessInfo.processInfo.environment["CI"] != nil
    static let llmRuns = (try? LoadedModel.resolve(modelName)) != nil || inCI

    static func tokens(_ count: Int, _ width: Int) -> Value {
        .payload(TensorPayload(shape: [count, width], data: (0..<count * width).map { Float($0 % 17) / 9 - 0.9 }, layout: "NC"))
    }

    @Test("the projector maps [count, in] tokens to [count, width]; the resampler to [queries, width]")
    func shapes() throws {
        let p = try NodeHarness(builtin("fusion.projector"),
            options: ["weights": .string(Self.golden + "/projector-odd.safetensors"), "llm": "", "encoder": ""])
        let out = try #require(try p.process(Self.tokens(11, 37)).first?.value.tensorPayload)
        #expect(out.shape == [11, 29])
        let r = try NodeHarness(builtin("fusion.resampler"),
            options: ["weights": .string(Self.golden + "/resampler-gated.safetensors"), "llm": "", "encoder": ""])
        for count in [1, 49, 100] {
            let v = try #require(try r.process(Self.tokens(count, 40)).first?.value.tensorPayload)
            #expect(v.shape == [8, 24])
        }
    }

    @Test("tokens of the wrong width or kind are per-item errors naming both shapes")
    func badTokens() throws {
        let p = try NodeHarness(builtin("fusion.projector"),
            options: ["weights": .string(Self.golden + "/projector-odd.safetensors"), "llm": "", "encoder": ""])
        let error = try #require(throws: NodeError.self) { try p.process(Self.tokens(5, 36)) }
        #expect(error.message.contains("[29, 37]") && error.message.contains("[5, 36]"))
        for bad: Value in ["text", 3, .payload(TensorPayload(shape: [3, 37, 1], data: Array(repeating: 0, count: 111)))] {
            #expect(throws: NodeError.self) { try p.process(bad) }
        }
    }

    @Test("weights that do not fit the encoder fail the node before any item, naming both shapes",
          .enabled(if: efficientNetPresent))
    func encoderMismatch() throws {
        let error = try #require(throws: NodeError.self) {
            try NodeHarness(builtin("fusion.projector"),
                options: ["weights": .string(Self.golden + "/projector-odd.safetensors"), "llm": ""])
        }
        #expect(error.message.contains("[29, 37]") && error.message.contains("1280"))
        // encoder_tokens: stride16 checks against the merged stride-16 width (448) instead, and says so.
        let merged = try #require(throws: NodeError.self) {
            try NodeHarness(builtin("fusion.projector"),
                options: ["weights": .string(Self.golden + "/projector-odd.safetensors"), "llm": "", "encoder_tokens": "stride16"])
        }
        #expect(merged.message.contains("[29, 37]") && merged.message.contains("448") && merged.message.contains("stride16"))
        let cells = try #require(throws: NodeError.self) {
            try NodeHarness(builtin("fusion.projector"),
                options: ["weights": .string(Self.golden + "/projector-odd.safetensors"), "llm": "", "encoder_tokens": "stride16-unmerged"])
        }
        #expect(cells.message.contains("[29, 37]") && cells.message.contains("112") && cells.message.contains("stride16-unmerged"))
    }

    @Test("weights that do not fit the LLM's width fail the node before any item, naming both shapes", .enabled(if: llmRuns))
    func llmMismatch() throws {
        let error = try #require(throws: NodeError.self) {
            try NodeHarness(builtin("fusion.resampler"),
                options: ["weights": .string(Self.golden + "/resampler-lite0.safetensors"), "encoder": ""])
        }
        #expect(error.message.contains("[64, 64]") && error.message.contains("[576]") && error.message.contains(Self.modelName))
    }

    @Test("missing or foreign weight files are clear errors")
    func badFiles() throws {
        let missing = try #require(throws: NodeError.self) {
            try NodeHarness(builtin("fusion.projector"), options: ["weights": "/nonexistent/x.safetensors", "llm": "", "encoder": ""])
        }
        #expect(missing.message.contains("/nonexistent/x.safetensors"))
        #expect(throws: NodeError.self) {
            try NodeHarness(builtin("fusion.projector"),
                options: ["weights": .string(Self.golden + "/resampler-plain.safetensors"), "llm": "", "encoder": ""])
        }
    }

    /// A [count, 576] prefix of small values.
    static func prefix(_ count: Int) -> TensorPayload {
        TensorPayload(shape: [count, 576], data: (0..<count * 576).map { Float(($0 * 7919) % 101) / 1000 - 0.05 })
    }

    @Test("llm.generate puts the prefix where the user turn begins, as the model's own steps do", .enabled(if: llmRuns))
    func prefixAtUserTurn() throws {
        let model = try LoadedModel.shared(path: LoadedModel.resolve(Self.modelName))
        let prefix = Self.prefix(5)
        let node = try NodeHarness(builtin("llm.generate"), options: ["max_tokens": 8, "system": "You describe images."])
        let out = try node.process(.object(["prompt": "Describe the scene.", "prefix": .payload(prefix)]))
        let text = try #require(out.first { $0.port == "text" }?.value.stringValue)
        let record = try #require(out.first { $0.port == "result" }?.value)
        // By hand: the template's text up to the user's content, the vectors, then the rest.
        let head = model.tokenizer.encode("<|im_start|>system\nYou describe images.<|im_end|>\n<|im_start|>user\n")
        let tail = model.tokenizer.encode("Describe the scene.<|im_end|>\n<|im_start|>assistant\n")
        let session = model.model.makeSession()
        _ = try session.prefill(head)
        for row in 0..<5 { _ = try session.step(embedding: Array(prefix.data[row * 576..<(row + 1) * 576])) }
        var logits = try session.prefill(tail)
        var tokens: [Int] = []
        for _ in 0..<8 {
            let next = logits.indices.max { logits[$0] < logits[$1] }!
            if model.stopTokens.contains(next) { break }
            tokens.append(next)
            logits = try session.step(next)
        }
        #expect(text == String(decoding: model.tokenizer.bytes(tokens), as: UTF8.self))
        #expect(record["prompt_tokens"]?.intValue == head.count + 5 + tail.count)
    }

    @Test("the prefix port gives what the prefix inside the prompt record gives; both at once is an error", .enabled(if: llmRuns))
    func prefixPort() throws {
        let prefix = Self.prefix(5)
        let node = try NodeHarness(builtin("llm.generate"), options: ["max_tokens": 8, "system": "You describe images."])
        let inRecord = try node.process(.object(["prompt": "Describe the scene.", "prefix": .payload(prefix)]))
        let onPort = try node.process(["prompt": "Describe the scene.", "prefix": .payload(prefix)])
        let plain = try node.process(["prompt": "Describe the scene."])
        func text(_ out: [NodeHarness.Emitted]) -> String? { out.first { $0.port == "text" }?.value.stringValue }
        func promptTokens(_ out: [NodeHarness.Emitted]) -> Int? { out.first { $0.port == "result" }?.value["prompt_tokens"]?.intValue }
        #expect(text(onPort) != nil && text(onPort) == text(inRecord))
        #expect(promptTokens(onPort) == promptTokens(inRecord) && promptTokens(onPort) == promptTokens(plain).map { $0 + 5 })
        let both = try #require(throws: NodeError.self) {
            try node.process(["prompt": .object(["prompt": "x", "prefix": .payload(prefix)]), "prefix": .payload(prefix)])
        }
        #expect(both.message.contains("both"))
        let narrow = try #require(throws: NodeError.self) {
            try node.process(["prompt": "x", "prefix": .payload(TensorPayload(shape: [3, 64], data: Array(repeating: 0, count: 192)))])
        }
        #expect(narrow.message.contains("[3, 64]") && narrow.message.contains("576"))
    }

    @Test("llm.generate's prefix port is optional: a file may connect it or leave it out; prompt stays required")
    func optionalPrefixPort() throws {
        func load(_ describe: String) throws -> PipelineGraph {
            let yaml = """
            version: 1
            nodes:
              - { id: src, type: source.folder, with: { dir: "." } }
              - { id: decode, type: image.decode, inputs: { path: src.path } }
              - { id: encode, type: encoder.image, inputs: { image: decode.image } }
              - { id: prompt, type: text.template, inputs: { record: src.path }, with: { template: "hi" } }
              - { id: fuse, type: fusion.projector, inputs: { tokens: encode.tokens }, with: { weights: "\(Self.golden)/projector-odd.safetensors" } }
              - \(describe)
            """
            return try PipelineLoader(registry: NodeRegistry(BuiltinNodes.all)).load(text: yaml, file: "fusion.yaml")
        }
        let with = try load("{ id: describe, type: llm.generate, inputs: { prompt: prompt.text, prefix: fuse.embeddings } }")
        let describe = try #require(with.nodes.last)
        #expect(describe.inputPorts.map(\.name) == ["prompt", "prefix"] && describe.inputs.count == 2)
        #expect(with.edges.map(with.describe).contains("fuse.embeddings -> describe.prefix"))
        let without = try load("{ id: describe, type: llm.generate, inputs: { prompt: prompt.text } }")
        #expect(without.nodes.last?.inputPorts.map(\.name) == ["prompt"])
        let error = try #require(throws: ValidationFailure.self) {
            try load("{ id: describe, type: llm.generate, inputs: { prefix: fuse.embeddings } }")
        }
        #expect("\(error)".contains("input port 'prompt' of node 'describe' is not connected"))
        #expect(!"\(error)".contains("'prefix'"))
    }

    @Test("a prefix of the wrong width or longer than the context is a per-item error", .enabled(if: llmRuns))
    func badPrefix() throws {
        let node = try NodeHarness(builtin("llm.generate"), options: ["max_tokens": 4])
        let narrow = TensorPayload(shape: [3, 64], data: Array(repeating: 0, count: 192))
        let wide = try #require(throws: NodeError.self) { try node.process(.object(["prompt": "x", "prefix": .payload(narrow)])) }
        #expect(wide.message.contains("[3, 64]") && wide.message.contains("576"))
        let long = try #require(throws: NodeError.self) {
            try node.process(.object(["prompt": "x", "prefix": .payload(TensorPayload(shape: [8200, 576], data: Array(repeating: 0, count: 8200 * 576)))]))
        }
        #expect(long.message.contains("8192"))
        #expect(throws: NodeError.self) { try node.process(.object(["prompt": "x", "prefix": "not a tensor"])) }
    }
}
