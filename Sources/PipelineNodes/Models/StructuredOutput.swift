import Foundation
import PipelineCore
import PipelineModels

/// The `grammar`, `schema` and `choices` options of `llm.generate`: how each becomes a
/// `Grammar`, the checks `pipeline validate` runs on them (a bad grammar or schema is a
/// located validation error, nothing runs), and one shared constraint per model and grammar.
enum StructuredOutput {
    enum Kind: String, CaseIterable { case grammar, schema, choices }

    /// A grammar and what it came from.
    struct Compiled {
        let kind: Kind
        let grammar: Grammar
        /// Identifies the grammar (its text) for sharing constraints.
        let key: String
    }

    /// A file named in an option: relative to the pipeline file, else to the working directory
    /// (where the examples in pipelines/ are run from).
    static func locate(_ path: String, _ context: OptionCheckContext) -> String {
        let beside = context.resolve(path)
        return FileManager.default.fileExists(atPath: beside) ? beside : path
    }

    /// GBNF text: the option's text, or the file it names (a value with no `::=`).
    static func gbnfText(_ value: String, _ context: OptionCheckContext) throws -> (String, String?) {
        if value.contains("::=") { return (value, nil) }
        let path = locate(value, context)
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw OptionFinding([], "'\(value)' is neither GBNF (no '::=') nor a readable grammar file")
        }
        return (text, path)
    }

    /// A schema: inline (YAML/JSON, object keys in name order), or the JSON file a string names.
    static func schema(_ value: Value, _ context: OptionCheckContext) throws -> JSONValue {
        if case .string(let path) = value {
            let resolved = locate(path, context)
            guard let text = try? String(contentsOfFile: resolved, encoding: .utf8) else {
                throw OptionFinding([], "cannot read the schema file '\(path)'")
            }
            do {
                return try JSONValue(parsing: text)
            } catch {
                throw OptionFinding([], "\(path): \(error)")
            }
        }
        return json(value)
    }

    static func json(_ value: Value) -> JSONValue {
        switch value {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .number(String(i))
        case .double(let d): return .number(d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) + ".0" : String(d))
        case .string(let s): return .string(s)
        case .array(let a): return .array(a.map(json))
        case .object(let o): return .object(o.keys.sorted().map { ($0, json(o[$0]!)) })
        default: return .null
        }
    }

    static func value(_ json: JSONValue) -> Value {
        switch json {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .number(let n):
            if !n.contains(".") && !n.contains("e") && !n.contains("E"), let i = Int(n) { return .int(i) }
            return .double(Double(n) ?? 0)
        case .string(let s): return .string(s)
        case .array(let a): return .array(a.map(value))
        case .object(let f): return .object(Dictionary(f.map { ($0.0, value($0.1)) }, uniquingKeysWith: { _, b in b }))
        }
    }

    /// GBNF for a fixed list of answers.
    static func choicesGrammar(_ choices: [String]) throws -> Grammar {
        guard !choices.isEmpty else { throw OptionFinding([], "the list of choices is empty") }
        let alternatives = choices.map(JSONSchemaCompiler.gbnfLiteral)
        return try Grammar(gbnf: "root ::= " + alternatives.joined(separator: " | "))
    }

    /// Checks one option's value as validation does; empty when it compiles.
    static func check(_ kind: Kind, _ value: Value, _ context: OptionCheckContext) -> [OptionFinding] {
        do {
            _ = try compile(kind, value, context)
            return []
        } catch let finding as OptionFinding {
            return [finding]
        } catch {
            return [OptionFinding([], "\(error)")]
        }
    }

    /// The grammar for one option's value.
    static func compile(_ kind: Kind, _ value: Value, _ context: OptionCheckContext) throws -> Compiled {
        switch kind {
        case .grammar:
            guard let text = value.stringValue else { throw OptionFinding([], "expected GBNF text or a file") }
            let (gbnf, file) = try gbnfText(text, context)
            switch parse(gbnf) {
            case .success(let grammar): return Compiled(kind: .grammar, grammar: grammar, key: gbnf)
            case .failure(let error): throw OptionFinding([], file.map { "\($0): \(error)" } ?? "\(error)")
            }
        case .schema:
            let schema = try self.schema(value, context)
            switch compileSchema(schema) {
            case .success(let grammar): return Compiled(kind: .schema, grammar: grammar, key: grammar.source)
            case .failure(let error):
                // Inline schemas: point at the keyword itself.
                var path: [String] = []
                if value.stringValue == nil, let pointer = error.pointer {
                    path = pointer.split(separator: "/").map {
                        let part = String($0.split(separator: " ").first ?? $0)
                        return part.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
                    }
                }
                throw OptionFinding(path, value.stringValue.map { "\($0): \(error)" } ?? "\(error)")
            }
        case .choices:
            let list = value.arrayValue?.compactMap(\.stringValue) ?? []
            let grammar = try choicesGrammar(list)
            return Compiled(kind: .choices, grammar: grammar, key: grammar.source)
        }
    }

    private static func parse(_ gbnf: String) -> Result<Grammar, GrammarError> {
        do {
            let grammar = try Grammar(gbnf: gbnf)
            _ = try GrammarAutomaton(grammar)
            return .success(grammar)
        } catch let error as GrammarError {
            return .failure(error)
        } catch {
            return .failure(.unsupported("\(error)"))
        }
    }

    private static func compileSchema(_ schema: JSONValue) -> Result<Grammar, GrammarError> {
        do {
            return .success(try JSONSchemaCompiler.grammar(for: schema))
        } catch let error as GrammarError {
            return .failure(error)
        } catch {
            return .failure(.unsupported("\(error)"))
        }
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var constraints: [String: GrammarConstraint] = [:]

    /// One constraint per model and grammar, shared by every copy and run in the process, so
    /// the automaton and its mask cache warm up once.
    static func constraint(_ compiled: Compiled, model: LoadedModel) throws -> GrammarConstraint {
        let key = model.path + "\u{0}" + compiled.key
        lock.lock()
        defer { lock.unlock() }
        if let c = constraints[key] { return c }
        let c = try GrammarConstraint(grammar: compiled.grammar, vocabulary: GrammarVocabulary.of(model), label: compiled.kind.rawValue)
        if constraints.count > 64 { constraints.removeAll() }
        constraints[key] = c
        return c
    }
}
