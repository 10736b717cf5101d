import Foundation
import Testing

@testable import PipelineModels

/// Schemas that list their values (`enum`/`const`) beside keywords a grammar cannot express
/// (`not`, `patternProperties`, `if`...): the compiler keeps the listed values the whole schema
/// accepts. Checked against Python `jsonschema` on every such schema of the shared corpus
/// (goldens by scripts/structured/listed-values-goldens.py), and on small cases here.
@Suite("Listed values under the whole schema")
struct ListedValuesTests {
    static func schema(_ text: String) throws -> JSONValue { try JSONValue(parsing: text) }

    static func kept(_ schema: JSONValue) throws -> [JSONValue] {
        let candidates = try #require(JSONSchemaCompiler.candidates(schema, root: schema, depth: 0))
        var validator = JSONSchemaValidator(root: schema)
        var kept: [JSONValue] = []
        for v in candidates where !kept.contains(v) {
            if try validator.isValid(v, schema, "") { kept.append(v) }
        }
        return kept
    }

    @Test("the corpus's listed-value schemas keep what Python jsonschema keeps", .enabled(if: SchemaCorpusTests.folder != nil))
    func corpus() throws {
        let golden = try JSONValue(parsing: String(contentsOfFile: goldenFolder + "/grammar/listed-values.json", encoding: .utf8))
        let entries = try #require(golden.array)
        #expect(entries.count >= 400)
        var decided = 0, undecided = 0
        for entry in entries {
            let file = try #require(entry["file"]?.string)
            let text = try String(contentsOfFile: try #require(SchemaCorpusTests.folder) + "/" + file, encoding: .utf8)
            let schema = try #require(try JSONValue(parsing: text)["schema"])
            do {
                let ours = try Self.kept(schema)
                #expect(ours == entry["kept"]?.array, "\(file): kept \(ours.map(\.canonicalText)) vs jsonschema \(entry["kept"]?.canonicalText ?? "")")
                decided += 1
            } catch let e as GrammarError {
                guard case .unsupportedKeyword = e else { Issue.record("\(file): \(e)"); continue }
                undecided += 1
            }
        }
        print("listed values: \(decided) decided as jsonschema does, \(undecided) undecided (refused)")
        #expect(decided >= 350)
    }

    @Test("not, patternProperties, if/then/else, dependencies and tuples filter the list")
    func cases() throws {
        let s1 = try Self.schema(#"{"allOf": [{"enum": [1, 2.5, "a", null]}, {"not": {"type": "integer"}}]}"#)
        #expect(try Self.kept(s1) == [.number("2.5"), .string("a"), .null])
        let s2 = try Self.schema(#"{"enum": [{"ab": 1}, {"ab": "x"}, {"c": 1}], "patternProperties": {"^a": {"type": "string"}}}"#)
        #expect(try Self.kept(s2) == [.object([("ab", .string("x"))]), .object([("c", .number("1"))])])
        let s3 = try Self.schema(#"{"enum": [3, 12, -4], "if": {"minimum": 10}, "then": {"multipleOf": 4}, "else": {"minimum": 0}}"#)
        #expect(try Self.kept(s3) == [.number("3"), .number("12")])
        let s4 = try Self.schema(#"{"$schema": "http://json-schema.org/draft-07/schema#", "enum": [{"a": 1}, {"a": 1, "b": 2}], "dependencies": {"a": ["b"]}}"#)
        #expect(try Self.kept(s4) == [.object([("a", .number("1")), ("b", .number("2"))])])
        let s5 = try Self.schema(#"{"allOf": [{"enum": [[1, "x"], [1, 2], [1]]}, {"items": [{"type": "integer"}], "additionalItems": {"type": "string"}}]}"#)
        #expect(try Self.kept(s5) == [.array([.number("1"), .string("x")]), .array([.number("1")])])
        // Draft 4: 1.0 is not an integer; a $ref hides its siblings up to draft 7.
        let s6 = try Self.schema(#"{"$schema": "http://json-schema.org/draft-04/schema#", "allOf": [{"enum": [1, 1.0, 2]}, {"not": {"type": "integer"}}]}"#)
        #expect(try Self.kept(s6).map(\.canonicalText) == ["1.0"])
    }

    @Test("the compiled grammar accepts exactly the kept values; an empty list is an error at its pointer")
    func compiled() throws {
        let schema = try Self.schema(#"{"allOf": [{"enum": ["red", "green", "blue"]}, {"not": {"pattern": "^g"}}]}"#)
        let grammar = try JSONSchemaCompiler.gbnf(for: schema)
        #expect(grammar.contains("red") && grammar.contains("blue") && !grammar.contains("green"))
        let none = try Self.schema(#"{"allOf": [{"enum": ["a"]}, {"not": {"const": "a"}}]}"#)
        #expect(throws: GrammarError.badSchema("no listed value ('enum' or 'const') is valid under the rest of the schema", pointer: "")) {
            try JSONSchemaCompiler.gbnf(for: none)
        }
        // What the validator cannot decide falls back to the ordinary path, which refuses it.
        let format = try Self.schema(#"{"enum": ["x"], "format": "hostname", "not": {"const": "y"}}"#)
        #expect(throws: GrammarError.self) { try JSONSchemaCompiler.gbnf(for: format) }
    }
}
