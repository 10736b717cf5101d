import Foundation
import PipelineCore
import PipelineModels
import PipelineNodes
import PipelineTesting
import Testing

/// `llm.generate` with `grammar`, `schema` and `choices`: bad ones are located validation
/// errors (nothing runs); good ones hold SmolLM2's output to them.
@Suite("llm.generate structured output", .serialized)
struct StructuredOutputTests {
    let loader = PipelineLoader(registry: NodeRegistry(BuiltinNodes.all))
    static let modelName = "SmolLM2-135M-Instruct.Q4_1.gguf"
    static var available: Bool { (try? LoadedModel.resolve(modelName)) != nil }

    func pipeline(_ with: String) -> String {
        """
        version: 1
        nodes:
          - id: src
            type: source.files
            with: {paths: ["*.txt"]}
          - id: read
            type: text.read
            inputs: {path: src.path}
          - id: llm
            type: llm.generate
            inputs: {prompt: read.text}
            with:
        \(with)
        """
    }

    func diagnostics(_ yaml: String) throws -> [Diagnostic] {
        try #require(throws: ValidationFailure.self) { try loader.load(text: yaml, file: "p.yaml") }.diagnostics
    }

    @Test("a GBNF syntax error is a validation error at the option, with the grammar's line and column")
    func badGrammar() throws {
        let d = try diagnostics(pipeline("      grammar: |\n        root ::= \"a\" |\n          [b-\n"))
        #expect(d.count == 1)
        #expect(d[0].location.line == 13, "\(d)")
        #expect(d[0].message.contains("grammar 2:3") && d[0].message.contains("unterminated character class"), "\(d)")
    }

    @Test("an unsupported schema keyword is reported at its own line, naming it and its pointer")
    func unsupportedKeyword() throws {
        let d = try diagnostics(pipeline("""
                  schema:
                    type: object
                    properties:
                      tags:
                        type: array
                        uniqueItems: true
            """))
        #expect(d.count == 1)
        #expect(d[0].location.line == 18, "\(d)")
        #expect(d[0].message.contains("'uniqueItems'") && d[0].message.contains("/properties/tags/uniqueItems"), "\(d[0].message)")
    }

    @Test("$ref to nowhere, minItems > maxItems and an empty choice list are validation errors", arguments: [
        ("      schema: {$ref: \"#/$defs/missing\"}", "points to nothing"),
        ("      schema: {type: array, minItems: 3, maxItems: 2}", "minItems 3 > maxItems 2"),
        ("      choices: []", "empty"),
        ("      schema: {type: string, format: uri}", "'format'"),
        ("      grammar: no-such-file.gbnf", "neither GBNF"),
    ])
    func badSchemas(_ with: String, _ words: String) throws {
        let d = try diagnostics(pipeline(with))
        #expect(d.count == 1 && d[0].message.contains(words), "\(d)")
    }

    @Test("a valid schema loads")
    func validLoads() throws {
        _ = try loader.load(text: pipeline("      schema: {type: object, properties: {a: {type: integer}}, required: [a]}"), file: "p.yaml")
    }

    @Test("with a schema, result is the parsed value and it fits the schema", .enabled(if: available))
    func schemaResult() throws {
        let harness = try NodeHarness(builtin("llm.generate"), options: [
            "max_tokens": .int(80), "system": .string("Answer in JSON."),
            "schema": .object([
                "type": .string("object"), "additionalProperties": .bool(false),
                "properties": .object([
                    "name": .object(["type": .string("string"), "maxLength": .int(20)]),
                    "age": .object(["type": .string("integer"), "minimum": .int(0), "maximum": .int(120)]),
                    "city": .object(["enum": .array([.string("Paris"), .string("London")])]),
                ]),
                "required": .array([.string("age"), .string("city"), .string("name")]),
            ]),
        ])
        let out = try harness.process(.string("Describe a person who lives in Paris."), item: "p")
        guard case .object(let record)? = out.first(where: { $0.port == "result" })?.value else {
            Issue.record("result is not an object: \(out)")
            return
        }
        #expect(Set(record.keys) == ["age", "city", "name"])
        #expect((0...120).contains(record["age"]?.intValue ?? -1))
        #expect(["Paris", "London"].contains(record["city"]?.stringValue ?? ""))
        #expect((record["name"]?.stringValue?.count ?? 99) <= 20)
    }

    @Test("choices give exactly one of the strings", .enabled(if: available))
    func choices() throws {
        let harness = try NodeHarness(builtin("llm.generate"), options: [
            "choices": .array([.string("positive"), .string("negative"), .string("neutral")]),
            "system": .string("Classify the sentiment of the review."),
        ])
        for review in ["I loved it, wonderful!", "Terrible, cold and late."] {
            let out = try harness.process(.string(review), item: review)
            let text = try #require(out.first { $0.port == "text" }?.value.stringValue)
            #expect(["positive", "negative", "neutral"].contains(text), "\(text)")
        }
    }

    @Test("max_tokens that cuts the value fails the item with finish_reason: length", .enabled(if: available))
    func length() throws {
        let harness = try NodeHarness(builtin("llm.generate"), options: [
            "max_tokens": .int(3), "grammar": .string("root ::= \"{\" [a-z]{20} \"}\""),
        ])
        let error = try #require(throws: NodeError.self) { try harness.process(.string("Write letters."), item: "x") }
        #expect(error.message.contains("finish_reason: length"))
    }

    @Test("two of grammar, schema and choices at once are refused", .enabled(if: available))
    func exclusive() throws {
        #expect(throws: NodeError.self) {
            try NodeHarness(builtin("llm.generate"), options: ["choices": .array([.string("a")]), "grammar": .string("root ::= \"a\"")])
        }
    }
}
