import Foundation
import PipelineCore
import PipelineModels
@testable import PipelineNodes
import PipelineTesting
import Synchronization
import Testing

/// SmolLM2 is in the model folder, or CI runs (where its absence must fail, not skip).
let headPromptModelAvailable = (try? LoadedModel.resolve("SmolLM2-135M-Instruct.Q4_1.gguf")) != nil
    || ProcessInfo.processInfo.environment["CI"] != nil

@Suite("head.prompt", .serialized)
struct HeadPromptTests {
    static let modelName = "SmolLM2-135M-Instruct.Q4_1.gguf"
    static let system = "You triage customer reviews for a small kitchenware shop. Be brief and polite."
    static let tasks: Value = .object([
        "sentiment": .object([
            "prompt": .string("Review: {text}\nIs this review positive, negative or neutral? Answer with one word."),
            "choices": .array([.string("positive"), .string("negative"), .string("neutral")]),
        ]),
        "reply": .object([
            "prompt": .string("Review: {text}\nWrite a one-line reply to the customer."),
            "max_tokens": .int(16), "stop": .string("\n"),
        ]),
    ])
    static let reviews = ["The kettle boils fast and looks great on the counter.", "Broke after two days. Never again!",
                          "It is a kettle. It boils water."]

    static func harness(reuse: Bool) throws -> NodeHarness {
        try NodeHarness(builtin("head.prompt"), options: [
            "model": .string(modelName), "system": .string(system), "tasks": tasks, "reuse": .bool(reuse),
        ])
    }

    /// Each item gives one record with a field per task; the label is the argmax of the choices'
    /// summed log-probabilities, which equal `LoadedModel.score` on the same prompt; the reply
    /// equals `generate` on its prompt. With and without prefix reuse: the same record, bit for bit,
    /// and with reuse the shared prefix is restored rather than evaluated.
    @Test("one record per item: labels by likelihood and replies, the same with and without reuse",
          .enabled(if: headPromptModelAvailable))
    func records() throws {
        let model = try LoadedModel.shared(path: LoadedModel.resolve(Self.modelName))
        model.prefixes.reset()
        let plain = try Self.harness(reuse: false), cached = try Self.harness(reuse: true)
        for (i, review) in Self.reviews.enumerated() {
            let expected = try plain.process(.string(review), item: "r\(i)")
            let got = try cached.process(.string(review), item: "r\(i)")
            #expect(got.count == 1 && got[0].port == "record")
            #expect(got.map(\.value) == expected.map(\.value), "review \(i): reuse changed the record")
            guard case .object(let record) = got[0].value, case .object(let sentiment)? = record["sentiment"],
                  case .object(let logprobs)? = sentiment["logprobs"], case .object(let reply)? = record["reply"] else {
                Issue.record("review \(i): unexpected record \(got[0].value)")
                continue
            }
            let prompt = model.tokenizer.encode(try model.chatTemplate!.render([
                ChatMessage(role: "system", content: Self.system),
                ChatMessage(role: "user", content: "Review: \(review)\nIs this review positive, negative or neutral? Answer with one word."),
            ]))
            let choices = ["positive", "negative", "neutral"]
            let scores = try model.score(prompt: prompt, choices: choices.map {
                model.tokenizer.encode($0, parseSpecial: false, addSpecial: false)
            }, reuse: .off)
            for (choice, score) in zip(choices, scores) { #expect(logprobs[choice]?.doubleValue == score.logprob) }
            let best = choices[scores.map(\.logprob).firstIndex(of: scores.map(\.logprob).max()!)!]
            #expect(sentiment["label"]?.stringValue == best)
            #expect(["eos", "max_tokens", "stop"].contains(reply["finish_reason"]?.stringValue ?? ""))
            let replyText = reply["text"]?.stringValue ?? ""
            #expect(replyText.count > 0)
        }
        // From the second item on, prompts start from the kept system message and instructions.
        #expect(model.prefixes.statistics.hits >= 2 * (Self.reviews.count - 2))
        #expect(model.prefixes.statistics.reusedTokens > 60)
    }

    /// Two node copies on two threads share the model and its prefix cache: each gives the
    /// records a lone node without reuse gives.
    /// `llm.generate` with `choices` and `scoring: true` scores instead of generating: its record
    /// equals head.prompt's for the same prompt, and `text` carries the label.
    @Test("llm.generate scoring: every choice's log-probability, the label on text",
          .enabled(if: headPromptModelAvailable))
    func generateScoring() throws {
        let model = try LoadedModel.shared(path: LoadedModel.resolve(Self.modelName))
        let choices = ["positive", "negative", "neutral"]
        let node = try NodeHarness(builtin("llm.generate"), options: [
            "model": .string(Self.modelName), "system": .string(Self.system),
            "choices": .array(choices.map(Value.string)), "scoring": .bool(true),
        ])
        let question = "Review: \(Self.reviews[1])\nIs this review positive, negative or neutral? Answer with one word."
        let got = try node.process(.string(question))
        let prompt = model.tokenizer.encode(try model.chatTemplate!.render([
            ChatMessage(role: "system", content: Self.system), ChatMessage(role: "user", content: question),
        ]))
        let scores = try model.score(prompt: prompt, choices: choices.map {
            model.tokenizer.encode($0, parseSpecial: false, addSpecial: false)
        }, reuse: .off)
        let record = ChoiceRecord.make(labels: choices, scores: scores)
        #expect(got.first { $0.port == "result" }?.value == record)
        #expect(got.first { $0.port == "text" }?.value == record.objectValue?["label"])
        #expect(throws: (any Error).self) {
            try NodeHarness(builtin("llm.generate"), options: ["model": .string(Self.modelName), "scoring": .bool(true)])
        }
    }

    /// A schema task gives the parsed value, held to the schema, the same with and without reuse;
    /// a grammar task gives the text its grammar allows.
    @Test("schema and grammar tasks: the parsed value and the constrained text",
          .enabled(if: headPromptModelAvailable))
    func constrainedTasks() throws {
        let tasks: Value = .object([
            "entities": .object([
                "prompt": .string("Review: {text}\nName the product this review is about."),
                "schema": .object([
                    "type": .string("object"),
                    "properties": .object(["product": .object(["type": .string("string"), "maxLength": .int(24)])]),
                    "required": .array([.string("product")]), "additionalProperties": .bool(false),
                ]),
                "max_tokens": .int(40),
            ]),
            "stars": .object([
                "prompt": .string("Review: {text}\nHow many stars, 1 to 5?"),
                "grammar": .string("root ::= [1-5] \" stars\""),
            ]),
        ])
        func harness(_ reuse: Bool) throws -> NodeHarness {
            try NodeHarness(builtin("head.prompt"), options: [
                "model": .string(Self.modelName), "system": .string(Self.system), "tasks": tasks, "reuse": .bool(reuse),
            ])
        }
        let plain = try harness(false), cached = try harness(true)
        for (i, review) in Self.reviews.enumerated() {
            let got = try cached.process(.string(review), item: "r\(i)")
            #expect(got.map(\.value) == (try plain.process(.string(review), item: "r\(i)")).map(\.value))
            guard case .object(let record) = got[0].value, case .object(let entities)? = record["entities"],
                  case .string(let product)? = entities["product"], case .string(let stars)? = record["stars"] else {
                Issue.record("review \(i): unexpected record \(got[0].value)")
                continue
            }
            #expect(entities.count == 1 && product.count <= 24)
            #expect(stars.count == 7 && stars.hasSuffix(" stars") && ("1"..."5").contains(String(stars.prefix(1))), "\(stars)")
        }
    }

    @Test("node copies on several threads share the prefix cache safely", .enabled(if: headPromptModelAvailable))
    func concurrentCopies() throws {
        let model = try LoadedModel.shared(path: LoadedModel.resolve(Self.modelName))
        model.prefixes.reset()
        let plain = try Self.harness(reuse: false)
        let expected = try Self.reviews.enumerated().map { i, review in try plain.process(.string(review), item: "r\(i)").map(\.value) }
        // Each thread drives only its own harness (node copy), as the scheduler does.
        nonisolated(unsafe) let copies = try (0..<2).map { _ in try Self.harness(reuse: true) }
        let results = Mutex<[Int: [[Value]]]>([:])
        DispatchQueue.concurrentPerform(iterations: copies.count) { copy in
            let got = Self.reviews.enumerated().map { i, review in
                (try? copies[copy].process(.string(review), item: "r\(i)").map(\.value)) ?? []
            }
            results.withLock { $0[copy] = got }
        }
        for copy in 0..<copies.count { #expect(results.withLock { $0[copy] } == expected, "copy \(copy)") }
        #expect(model.prefixes.statistics.hits > 0)
    }

    @Test("prompt templates: {name} placeholders, other braces literal")
    func placeholders() {
        #expect(PromptTask.pieces(of: "Say {text} as JSON {\"a\": 1} {not a name} {x_1}{") == [
            .literal("Say "), .field("text"), .literal(" as JSON {\"a\": 1} {not a name} "), .field("x_1"), .literal("{"),
        ])
        let (tasks, findings) = PromptTask.parse(.object(["t": .object(["prompt": .string("{a}-{b}"), "max_tokens": .int(3)])]))
        #expect(findings.isEmpty && tasks.first?.fields == ["a", "b"] && tasks.first?.kind == .text(maxTokens: 3, stop: []))
        if case .success(let s) = tasks[0].render({ $0 == "a" ? "1" : "2" }) { #expect(s == "1-2") } else { Issue.record("render failed") }
        #expect(PromptTask.parse(.string("x")).findings.first?.message.contains("expected a map") == true)
    }

    @Test("record inputs fill {field} placeholders; a missing field fails the item with its name",
          .enabled(if: headPromptModelAvailable))
    func fields() throws {
        let harness = try NodeHarness(builtin("head.prompt"), options: [
            "model": .string(Self.modelName),
            "tasks": .object(["topic": .object(["prompt": .string("Title: {title}\nBody: {text}\nWhat is this about?"),
                                                 "choices": .object(["cooking": .string("This is about cooking."),
                                                                     "sports": .string("This is about sports.")])])]),
        ])
        let out = try harness.process(.object(["title": .string("Pancakes"), "text": .string("Flour, eggs, milk.")]), item: "a")
        guard case .object(let record)? = out.first?.value, case .object(let topic)? = record["topic"],
              case .object(let logprobs)? = topic["logprobs"] else {
            Issue.record("unexpected output \(out)")
            return
        }
        #expect(Set(logprobs.keys) == ["cooking", "sports"])
        #expect(topic["label"]?.stringValue == "cooking")
        let error = try #require(throws: NodeError.self) { try harness.process(.object(["text": .string("x")]), item: "b") }
        #expect(error.message.contains("{title}"))
        #expect(throws: NodeError.self) { try harness.process(.int(4), item: "c") }
    }

    /// Every mistake in the task map is a validation error at its own line and column, found
    /// before anything loads or runs.
    @Test("bad task maps are located validation errors")
    func validation() throws {
        let yaml = """
            version: 1
            nodes:
              - id: src
                type: source.files
                with: { paths: ["x.txt"] }
              - id: triage
                type: head.prompt
                inputs: { input: src.path }
                with:
                  tasks:
                    sentiment:
                      prompt: "Review: {text}"
                      choices: []
                    reply:
                      prompt: "Reply to {text}"
                      max_tokens: many
                      temprature: 0.5
                    entities:
                      prompt: "List entities in {text}"
                      schema: { type: object, patternProperties: { a: {} } }
                    labels:
                      prompt: "Label {text}"
                      choices: [a, 3, a]
                    bare: "just a string"
                    mapped:
                      prompt: "Mood of {text}?"
                      choices: { happy: "The writer is happy.", sad: 4 }
            """
        let error = try #require(throws: ValidationFailure.self) {
            try PipelineLoader(registry: NodeRegistry(BuiltinNodes.all)).load(text: yaml, file: "triage.yaml")
        }
        let found = error.diagnostics.map { "\($0.location.line):\($0.location.column) \($0.message)" }
        func expectOne(_ line: Int, _ text: String) {
            #expect(found.contains { $0.hasPrefix("\(line):") && $0.contains(text) }, "no '\(text)' at line \(line) in \(found)")
        }
        expectOne(13, "sentiment.choices: the choice list is empty")
        expectOne(16, "reply.max_tokens: expected an integer")
        expectOne(17, "unknown task key 'temprature'")
        expectOne(20, "patternProperties")
        expectOne(23, "labels.choices.1: expected a string")
        expectOne(23, "labels.choices.2: 'a' is listed twice")
        expectOne(24, "bare: a task is a map")
        expectOne(27, "mapped.choices.sad: expected the text scored for 'sad'")
        #expect(found.allSatisfy { $0.contains("option 'tasks' of node 'triage'") }, "\(found)")
        // No tasks at all.
        let none = yaml.components(separatedBy: "\n").prefix(9).joined(separator: "\n") + "\n      tasks: {}\n"
        let empty = try #require(throws: ValidationFailure.self) {
            try PipelineLoader(registry: NodeRegistry(BuiltinNodes.all)).load(text: none, file: "none.yaml")
        }
        #expect(empty.diagnostics.map(\.message) == ["option 'tasks' of node 'triage': no tasks"])
    }
}
