import PipelineCore

/// One named task of `head.prompt`: a prompt template (`{text}` and `{field}` placeholders
/// filled from each item) and what to do with it, read and checked from the node's `tasks` map.
struct PromptTask: Sendable, Equatable {
    /// What the task produces for an item.
    enum Kind: Sendable, Equatable {
        /// The likeliest of fixed answers, scored by summed log-probability (no sampling).
        case choices([Choice])
        /// Free text, greedy, up to `maxTokens`, cut at the first stop string.
        case text(maxTokens: Int, stop: [String])
        /// Generation held to a JSON Schema (the parsed value out) or a GBNF grammar (the text
        /// out), greedy, up to `maxTokens`; `spec` is the option's value (inline or a file).
        case constrained(StructuredOutput.Kind, spec: Value, maxTokens: Int)
    }

    let name: String
    /// The prompt in pieces: literal text and placeholder names, alternating as written.
    let pieces: [Piece]
    let kind: Kind

    /// One answer of a choice task: the label reported, and the text scored after the prompt
    /// (the label itself unless the task maps labels to texts).
    struct Choice: Sendable, Equatable {
        let label: String
        let text: String
    }

    enum Piece: Sendable, Equatable {
        case literal(String)
        case field(String)
    }

    /// Keys a task may have.
    static let keys = ["prompt", "choices", "schema", "grammar", "max_tokens", "stop"]
    /// The longest text task allowed.
    static let maxTokensLimit = 4096

    /// The fields the prompt reads from an item.
    var fields: [String] {
        pieces.compactMap { if case .field(let name) = $0 { return name } else { return nil } }
    }

    /// The prompt with each placeholder replaced by `value(name)`, or the first field `value` lacks.
    func render(_ value: (String) -> String?) -> Result<String, MissingField> {
        var out = ""
        for piece in pieces {
            switch piece {
            case .literal(let s): out += s
            case .field(let name):
                guard let v = value(name) else { return .failure(MissingField(name: name)) }
                out += v
            }
        }
        return .success(out)
    }

    struct MissingField: Error {
        let name: String
    }

    /// Splits a prompt at `{name}` placeholders (name: letters, digits, `_`, not starting with
    /// a digit); other braces stay literal, so JSON examples in prompts need no escaping.
    static func pieces(of prompt: String) -> [Piece] {
        var pieces: [Piece] = [], literal = ""
        var rest = Substring(prompt)
        while let open = rest.firstIndex(of: "{") {
            literal += rest[..<open]
            let after = rest[rest.index(after: open)...]
            if let close = after.firstIndex(of: "}"), isName(after[..<close]) {
                if !literal.isEmpty { pieces.append(.literal(literal)) }
                literal = ""
                pieces.append(.field(String(after[..<close])))
                rest = after[after.index(after: close)...]
            } else {
                literal += "{"
                rest = after
            }
        }
        literal += rest
        if !literal.isEmpty { pieces.append(.literal(literal)) }
        return pieces
    }

    private static func isName(_ s: Substring) -> Bool {
        guard let first = s.first, first.isLetter || first == "_" else { return false }
        return s.allSatisfy { ($0.isLetter || $0.isNumber || $0 == "_") && $0.isASCII }
    }

    /// The tasks of a `tasks` map in name order, and every problem found, each at its place in the map.
    static func parse(_ value: Value, _ context: OptionCheckContext = .none) -> (tasks: [PromptTask], findings: [OptionFinding]) {
        guard case .object(let map) = value else {
            return ([], [OptionFinding([], "expected a map of task names to tasks, got \(value.kindName)",
                                       hint: "tasks: { sentiment: { prompt: \"...{text}...\", choices: [positive, negative] } }")])
        }
        guard !map.isEmpty else { return ([], [OptionFinding([], "no tasks", hint: "name at least one task")]) }
        var tasks: [PromptTask] = [], findings: [OptionFinding] = []
        for name in map.keys.sorted() {
            let (task, found) = parse(name: name, map[name]!, context)
            if let task { tasks.append(task) }
            findings += found
        }
        return (tasks, findings)
    }

    /// One task, or the reasons it is not one.
    static func parse(name: String, _ value: Value, _ context: OptionCheckContext = .none) -> (PromptTask?, [OptionFinding]) {
        guard case .object(let fields) = value else {
            return (nil, [OptionFinding([name], "a task is a map with 'prompt' and, for a choice task, 'choices'; got \(value.kindName)")])
        }
        var findings: [OptionFinding] = []
        for key in fields.keys.sorted() where !keys.contains(key) {
            findings.append(OptionFinding([name, key], "unknown task key '\(key)'",
                                          hint: "a task takes " + keys.map { "'\($0)'" }.joined(separator: ", "), atKey: true))
        }
        let shapes = ["choices", "schema", "grammar"].filter { fields[$0] != nil }
        if shapes.count > 1 {
            findings.append(OptionFinding([name, shapes[1]], "a task takes one of 'choices', 'schema' and 'grammar', not " + shapes.joined(separator: " and "), atKey: true))
        }
        var pieces: [Piece] = []
        switch fields["prompt"] {
        case .string(let prompt)?:
            if prompt.isEmpty { findings.append(OptionFinding([name, "prompt"], "the prompt is empty")) }
            pieces = Self.pieces(of: prompt)
        case let other?:
            findings.append(OptionFinding([name, "prompt"], "expected a string, got \(other.kindName)"))
        case nil:
            findings.append(OptionFinding([name], "task '\(name)' has no 'prompt'", hint: "prompt: \"Classify: {text}\""))
        }
        var kind: Kind?
        if let choices = fields["choices"] {
            for key in ["max_tokens", "stop"] where fields[key] != nil {
                findings.append(OptionFinding([name, key], "'\(key)' does not apply to a choice task", atKey: true))
            }
            switch choices {
            case .array(let list):
                var seen: [String] = []
                for (i, item) in list.enumerated() {
                    guard case .string(let s) = item else {
                        findings.append(OptionFinding([name, "choices", String(i)], "expected a string, got \(item.kindName)"))
                        continue
                    }
                    if s.isEmpty { findings.append(OptionFinding([name, "choices", String(i)], "a choice is empty")) }
                    if seen.contains(s) { findings.append(OptionFinding([name, "choices", String(i)], "'\(s)' is listed twice")) }
                    seen.append(s)
                }
                if list.isEmpty { findings.append(OptionFinding([name, "choices"], "the choice list is empty", hint: "list at least one choice")) }
                kind = .choices(seen.map { Choice(label: $0, text: $0) })
            case .object(let map):
                var answers: [Choice] = []
                for label in map.keys.sorted() {
                    guard case .string(let text) = map[label]! else {
                        findings.append(OptionFinding([name, "choices", label], "expected the text scored for '\(label)', got \(map[label]!.kindName)"))
                        continue
                    }
                    if text.isEmpty { findings.append(OptionFinding([name, "choices", label], "the text of '\(label)' is empty")) }
                    answers.append(Choice(label: label, text: text))
                }
                if map.isEmpty { findings.append(OptionFinding([name, "choices"], "the choice map is empty", hint: "map at least one label to its text")) }
                kind = .choices(answers)
            default:
                findings.append(OptionFinding([name, "choices"], "expected a list of strings or a map of labels to texts, got \(choices.kindName)"))
            }
        } else {
            var maxTokens = shapes.isEmpty ? 64 : 256
            if let v = fields["max_tokens"] {
                if case .int(let n) = v, (1...maxTokensLimit).contains(n) {
                    maxTokens = n
                } else {
                    findings.append(OptionFinding([name, "max_tokens"], "expected an integer from 1 to \(maxTokensLimit), got \(v.kindName == "int" ? "\(v.intValue!)" : v.kindName)"))
                }
            }
            var stop: [String] = []
            switch fields["stop"] {
            case nil: break
            case .string(let s)?: stop = [s]
            case .array(let list)? where list.allSatisfy { $0.stringValue != nil }: stop = list.compactMap(\.stringValue)
            case let other?: findings.append(OptionFinding([name, "stop"], "expected a string or a list of strings, got \(other.kindName)"))
            }
            if let shape = shapes.first, let structured = StructuredOutput.Kind(rawValue: shape) {
                if fields["stop"] != nil {
                    findings.append(OptionFinding([name, "stop"], "'stop' does not apply to a \(shape) task: the grammar decides where it ends", atKey: true))
                }
                findings += StructuredOutput.check(structured, fields[shape]!, context).map {
                    OptionFinding([name, shape] + $0.path, $0.message, hint: $0.hint, atKey: $0.atKey)
                }
                kind = .constrained(structured, spec: fields[shape]!, maxTokens: maxTokens)
            } else {
                kind = .text(maxTokens: maxTokens, stop: stop)
            }
        }
        guard findings.isEmpty, let kind else { return (nil, findings) }
        return (PromptTask(name: name, pieces: pieces, kind: kind), [])
    }
}
