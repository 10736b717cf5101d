import Foundation
import Yams

/// Reads a pipeline file and turns it into a runnable graph, or reports every problem in it.
///
/// Nothing runs on an invalid file: loading either returns a `PipelineGraph` or throws a
/// `ValidationFailure` holding all diagnostics, each with file:line:column and a hint.
public struct PipelineLoader: Sendable {
    public let registry: NodeRegistry

    /// Keys a pipeline file may have at the top level.
    public static let topLevelKeys = ["version", "name", "description", "params", "settings", "nodes"]
    /// Keys a node entry may have.
    public static let nodeKeys = ["id", "type", "with", "inputs", "concurrency", "ordered", "on_error", "queue"]
    public static let supportedVersion = 1

    public init(registry: NodeRegistry) {
        self.registry = registry
    }

    /// Loads a file; `overrides` are `--set name=value` pairs replacing `params` defaults.
    public func load(file path: String, overrides: [(String, String)] = []) throws -> PipelineGraph {
        let text: String
        // Refuse a huge file before reading it into memory.
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int,
            size > YAMLLimits.maxDocumentBytes
        {
            throw ValidationFailure([YAMLLimits.sizeDiagnostic(bytes: size, file: path)])
        }
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            var isDirectory: ObjCBool = false
            let reason =
                !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
                ? "no such file" : isDirectory.boolValue ? "is a directory" : "cannot read it as UTF-8 text"
            throw ValidationFailure([Diagnostic(SourceLocation(file: path, line: 1, column: 1), "cannot read pipeline file: \(reason)")])
        }
        return try load(text: text, file: path, overrides: overrides)
    }

    /// Loads YAML text; `file` names it in diagnostics.
    public func load(text: String, file: String = "<string>", overrides: [(String, String)] = []) throws
        -> PipelineGraph
    {
        var pass = LoadPass(registry: registry, file: file)
        let graph = pass.run(text: text, overrides: overrides)
        if !pass.diagnostics.isEmpty { throw ValidationFailure(pass.diagnostics) }
        return graph!
    }
}

/// One load: walks the YAML tree and collects diagnostics instead of stopping at the first.
struct LoadPass {
    let registry: NodeRegistry
    let file: String
    var diagnostics: [Diagnostic] = []
    var params: [String: (value: Value, location: SourceLocation)] = [:]

    init(registry: NodeRegistry, file: String) {
        self.registry = registry
        self.file = file
    }

    mutating func error(_ node: Yams.Node?, _ message: String, hint: String? = nil, at fallback: SourceLocation? = nil) {
        diagnostics.append(Diagnostic(YAMLValue.location(node, file: file, fallback: fallback), message, hint: hint))
    }

    /// A node entry as parsed, before its type is checked.
    struct NodeEntry {
        var id: String
        var idNode: Yams.Node?
        var type: (any PipelineNode.Type)?
        var entryNode: Yams.Node
        var options = Options([:])
        var inputs: [(port: String, ref: String, portNode: Yams.Node, refNode: Yams.Node)] = []
        /// Ports named under `inputs:` whose reference was not `node.port` (already reported).
        var malformedInputs: Set<String> = []
        var concurrency = 1
        var ordered = true
        var onError = ErrorPolicy.skip
        var capacity: Int?
        var policy = QueuePolicy.block
    }

    mutating func run(text: String, overrides: [(String, String)]) -> PipelineGraph? {
        let root: Yams.Node
        if text.utf8.count > YAMLLimits.maxDocumentBytes {
            diagnostics.append(YAMLLimits.sizeDiagnostic(bytes: text.utf8.count, file: file))
            return nil
        }
        do {
            guard let composed = try Yams.compose(yaml: text) else {
                error(nil, "the pipeline file is empty", hint: "start with `version: 1` and a `nodes:` list")
                return nil
            }
            root = composed
        } catch let yamlError as YamlError {
            diagnostics.append(Self.diagnostic(for: yamlError, file: file))
            return nil
        } catch {
            self.error(nil, "cannot parse YAML: \(error)")
            return nil
        }
        if let bomb = YAMLLimits.checkExpansion(root, file: file) {
            diagnostics.append(bomb)
            YAMLLimits.keepAlive(root)
            return nil
        }
        guard let top = root.mapping else {
            error(root, "the pipeline file must be a mapping with `version` and `nodes`", hint: "see `pipeline describe`")
            return nil
        }
        var keyed: [String: (key: Yams.Node, value: Yams.Node)] = [:]
        for (key, value) in top {
            guard let name = key.scalar?.string else {
                error(key, "top-level keys must be plain names")
                continue
            }
            if !PipelineLoader.topLevelKeys.contains(name) {
                error(key, "unknown top-level key '\(name)'",
                    hint: Suggestions.hint(for: name, in: PipelineLoader.topLevelKeys, noun: "top-level key"))
            }
            keyed[name] = (key, value)
        }

        checkVersion(keyed["version"], root: root)
        let name = keyed["name"]?.value.scalar?.string ?? ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        readParams(keyed["params"]?.value, overrides: overrides)
        let settings = readSettings(keyed["settings"]?.value)

        guard let nodesValue = keyed["nodes"]?.value else {
            error(root, "missing 'nodes'", hint: "add a `nodes:` list; each entry has `id` and `type`")
            return nil
        }
        guard let sequence = nodesValue.sequence else {
            error(nodesValue, "'nodes' must be a list of node entries", hint: "write each node as `- id: ...`")
            return nil
        }
        if sequence.isEmpty { error(nodesValue, "'nodes' is empty", hint: "add at least one node") }

        var entries: [NodeEntry] = []
        var firstSeen: [String: SourceLocation] = [:]
        for entryNode in sequence {
            guard let entry = readNode(entryNode) else { continue }
            if let first = firstSeen[entry.id] {
                error(entry.idNode, "duplicate node id '\(entry.id)'", hint: "first defined at \(first); ids must be unique")
                continue
            }
            firstSeen[entry.id] = YAMLValue.location(entry.idNode, file: file)
            entries.append(entry)
        }

        let bindings = resolveInputs(entries)
        checkCycles(entries, bindings: bindings)
        guard diagnostics.isEmpty else { return nil }

        let nodes = entries.enumerated().map { index, e in
            GraphNode(
                id: e.id, type: e.type!, options: e.options, inputs: bindings[index].map { $0! },
                concurrency: e.concurrency, ordered: e.ordered, onError: e.onError, queueCapacity: e.capacity,
                queuePolicy: e.policy, location: YAMLValue.location(e.entryNode, file: file))
        }
        return PipelineGraph(name: name, file: file, nodes: nodes, settings: settings)
    }

    // MARK: Top level

    static func diagnostic(for error: YamlError, file: String) -> Diagnostic {
        func loc(_ mark: Yams.Mark) -> SourceLocation { SourceLocation(file: file, line: mark.line, column: mark.column) }
        switch error {
        case let .scanner(context, problem, mark, yaml), let .parser(context, problem, mark, yaml),
            let .composer(context, problem, mark, yaml):
            let ctx = context.map { " \($0.text)" } ?? ""
            var hint = context.map { "the construct began at \(loc($0.mark))" }
            if character(in: yaml, at: mark) == "\t" {
                hint = "YAML indents with spaces; replace the tab" + (hint.map { " (\($0))" } ?? "")
            }
            return Diagnostic(loc(mark), "invalid YAML: \(problem)\(ctx)", hint: hint)
        case let .reader(problem, offset, _, yaml):
            var line = 1, column = 1
            if let offset {
                // Count as libyaml does: CR, LF, CRLF, NEL, LS and PS end lines; columns are code points.
                for ch in yaml.prefix(offset) {
                    if ["\n", "\r", "\r\n", "\u{85}", "\u{2028}", "\u{2029}"].contains(ch) {
                        line += 1
                        column = 1
                    } else {
                        column += ch.unicodeScalars.count
                    }
                }
            }
            return Diagnostic(SourceLocation(file: file, line: line, column: column), "invalid YAML: \(problem)")
        case let .duplicatedKeysInMapping(duplicates, context):
            let message = "duplicate key\(duplicates.count == 1 ? "" : "s") "
                + duplicates.map { "'\($0)'" }.joined(separator: ", ") + " in one mapping"
            // Yams marks the first occurrence; point at the repeat, as editors do.
            if let key = duplicates.first, let repeated = repeatedKey(key, firstAt: context.mark, in: context.text) {
                return Diagnostic(loc(repeated), message,
                    hint: "'\(key)' is first defined at \(loc(context.mark)); each key may appear once in a mapping")
            }
            return Diagnostic(loc(context.mark), message, hint: "this is the first occurrence; each key may appear once in a mapping")
        default:
            return Diagnostic(SourceLocation(file: file, line: 1, column: 1), "invalid YAML: \(error)")
        }
    }

    /// Where `key` appears again in the mapping whose key at `first` it repeats: the text is
    /// composed again with that first key renamed (same length, so marks stay put).
    static func repeatedKey(_ key: String, firstAt first: Yams.Mark, in text: String) -> Yams.Mark? {
        var scalars = Array(text.unicodeScalars)
        guard var offset = offset(of: first, in: scalars) else { return nil }
        if scalars[offset] == "\"" || scalars[offset] == "'" { offset += 1 }
        let keyScalars = Array(key.unicodeScalars)
        guard !keyScalars.isEmpty, scalars[offset...].starts(with: keyScalars) else { return nil }
        scalars[offset] = "\u{E000}"
        var renamed = String.UnicodeScalarView()
        renamed.append(contentsOf: scalars)
        guard let root = try? Yams.compose(yaml: String(renamed)) else { return nil }

        func isFirst(_ node: Yams.Node) -> Bool { node.mark?.line == first.line && node.mark?.column == first.column }
        func search(_ node: Yams.Node) -> Yams.Mark? {
            switch node {
            case .mapping(let mapping):
                if mapping.keys.contains(where: isFirst) {
                    return mapping.keys.first { !isFirst($0) && $0.string == key }?.mark
                }
                for (k, v) in mapping {
                    if let found = search(k) ?? search(v) { return found }
                }
                return nil
            case .sequence(let sequence):
                for item in sequence {
                    if let found = search(item) { return found }
                }
                return nil
            case .scalar, .alias:
                return nil
            }
        }
        return search(root)
    }

    /// The index of the code point at a libyaml mark (1-based line and column; CR, LF, CRLF,
    /// NEL, LS and PS end lines), or nil when the mark is past the end.
    static func offset(of mark: Yams.Mark, in scalars: [Unicode.Scalar]) -> Int? {
        var line = 1, column = 1, offset = 0
        while offset < scalars.count, (line, column) != (mark.line, mark.column) {
            let s = scalars[offset]
            if s == "\r", offset + 1 < scalars.count, scalars[offset + 1] == "\n" { offset += 1 }
            if ["\n", "\r", "\u{85}", "\u{2028}", "\u{2029}"].contains(s) {
                line += 1
                column = 1
            } else {
                column += 1
            }
            offset += 1
        }
        return offset < scalars.count ? offset : nil
    }

    /// The character at a libyaml mark, if any.
    static func character(in text: String, at mark: Yams.Mark) -> Unicode.Scalar? {
        let scalars = Array(text.unicodeScalars)
        return offset(of: mark, in: scalars).map { scalars[$0] }
    }

    mutating func checkVersion(_ entry: (key: Yams.Node, value: Yams.Node)?, root: Yams.Node) {
        guard let entry else {
            error(root, "missing 'version'", hint: "add `version: \(PipelineLoader.supportedVersion)` at the top")
            return
        }
        let value = entry.value.scalar.map(YAMLValue.scalar)
        guard value?.intValue == PipelineLoader.supportedVersion, case .int = value else {
            // Say what was found: `"1"` (a quoted string) must not read like the supported `1`.
            let shown: String
            switch value {
            case .null: shown = ": no value"
            case .string(let s): shown = " \"\(s)\" (a string)"
            case .some: shown = " " + (entry.value.scalar?.string ?? "")
            case .none: shown = ": a \(entry.value.mapping != nil ? "mapping" : "list")"
            }
            error(entry.value, "unsupported version\(shown)", hint: "this engine reads `version: \(PipelineLoader.supportedVersion)`")
            return
        }
    }

    mutating func readParams(_ node: Yams.Node?, overrides: [(String, String)]) {
        if let node {
            if let mapping = node.mapping {
                for (key, value) in mapping {
                    guard let name = key.scalar?.string, Self.isIdentifier(name) else {
                        error(key, "parameter names must be identifiers (letters, digits, _ and -)")
                        continue
                    }
                    params[name] = (convert(value, substitute: false), YAMLValue.location(value, file: file))
                }
            } else {
                error(node, "'params' must be a mapping of name: default", hint: "e.g. `params: { photo: samples/a.jpg }`")
            }
        }
        for (index, (name, text)) in overrides.enumerated() {
            let location = SourceLocation(file: "<command line>", line: 1, column: index + 1)
            guard params[name] != nil else {
                diagnostics.append(Diagnostic(location, "--set \(name)=\(text): the pipeline has no parameter '\(name)'",
                    hint: Suggestions.hint(for: name, in: Array(params.keys), noun: "parameter")))
                continue
            }
            let value: Value
            if let scalar = (try? Yams.compose(yaml: text))??.scalar {
                value = YAMLValue.scalar(scalar)
            } else {
                value = .string(text)
            }
            params[name] = (value, location)
        }
    }

    mutating func readSettings(_ node: Yams.Node?) -> RunSettings {
        var settings = RunSettings()
        guard let node else { return settings }
        guard let mapping = node.mapping else {
            error(node, "'settings' must be a mapping")
            return settings
        }
        let known = ["watchdog_seconds", "watchdog_action"]
        for (key, value) in mapping {
            let name = key.scalar?.string ?? ""
            switch name {
            case "watchdog_seconds":
                if let d = convert(value).doubleValue, d >= 0 {
                    settings.watchdogSeconds = d
                } else {
                    error(value, "'watchdog_seconds' must be a number of seconds >= 0 (0 disables the watchdog)")
                }
            case "watchdog_action":
                if let s = convert(value).stringValue, let action = WatchdogAction(rawValue: s) {
                    settings.watchdogAction = action
                } else {
                    error(value, "'watchdog_action' must be one of 'warn', 'fail'")
                }
            default:
                error(key, "unknown setting '\(name)'", hint: Suggestions.hint(for: name, in: known, noun: "setting"))
            }
        }
        return settings
    }

    static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, first == "_" || CharacterSet.letters.contains(first) else { return false }
        return s.unicodeScalars.allSatisfy { $0 == "_" || $0 == "-" || CharacterSet.alphanumerics.contains($0) && $0.isASCII }
    }

    // MARK: Values and parameters

    /// Converts a YAML node to a value, substituting `${param}` in strings.
    mutating func convert(_ node: Yams.Node, substitute: Bool = true) -> Value {
        switch node {
        case .scalar(let scalar):
            let value = YAMLValue.scalar(scalar)
            guard substitute, case .string(let s) = value, s.contains("${") else { return value }
            return interpolate(s, node: node)
        case .sequence(let seq):
            return .array(seq.map { convert($0, substitute: substitute) })
        case .mapping(let map):
            var object: [String: Value] = [:]
            for (k, v) in map { object[k.scalar?.string ?? "\(k)"] = convert(v, substitute: substitute) }
            return .object(object)
        case .alias:
            error(node, "YAML aliases are not supported here", hint: "repeat the value, or use a parameter")
            return .null
        }
    }

    /// `${name}` alone keeps the parameter's type; inside text it is spliced as a string.
    mutating func interpolate(_ s: String, node: Yams.Node) -> Value {
        var result = ""
        var rest = Substring(s)
        var whole: Value?
        while let open = rest.range(of: "${") {
            result += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else {
                error(node, "unterminated '${' in '\(s)'", hint: "write ${name}")
                return .string(s)
            }
            let name = String(rest[open.upperBound..<close])
            guard let param = params[name] else {
                error(node, "unknown parameter '\(name)'",
                    hint: params.isEmpty ? "declare it under `params:`" : Suggestions.hint(for: name, in: Array(params.keys), noun: "parameter"))
                return .string(s)
            }
            if open.lowerBound == s.startIndex, close == s.index(before: s.endIndex) {
                whole = param.value
            }
            switch param.value {
            case .string(let text): result += text
            case let other: result += other.jsonString()
            }
            rest = rest[rest.index(after: close)...]
        }
        result += rest
        return whole ?? .string(result)
    }

    // MARK: Nodes

    mutating func readNode(_ entryNode: Yams.Node) -> NodeEntry? {
        guard let mapping = entryNode.mapping else {
            error(entryNode, "a node entry must be a mapping with `id` and `type`", hint: "e.g. `- id: src` / `  type: source.files`")
            return nil
        }
        var fields: [String: (key: Yams.Node, value: Yams.Node)] = [:]
        for (key, value) in mapping {
            let name = key.scalar?.string ?? ""
            if !PipelineLoader.nodeKeys.contains(name) {
                error(key, "unknown node key '\(name)'", hint: Suggestions.hint(for: name, in: PipelineLoader.nodeKeys, noun: "node key"))
            }
            fields[name] = (key, value)
        }
        guard let idField = fields["id"] else {
            error(entryNode, "node entry has no 'id'", hint: "add `id: NAME` (letters, digits, _ and -)")
            return nil
        }
        if let scalar = idField.value.scalar, YAMLValue.scalar(scalar) == .null || scalar.string.isEmpty {
            error(idField.key, "node 'id' is empty", hint: "write `id: NAME` (letters, digits, _ and -)")
            return nil
        }
        guard let id = idField.value.scalar?.string, Self.isIdentifier(id) else {
            error(idField.value, "invalid node id '\(idField.value.scalar?.string ?? "")'",
                hint: "ids start with a letter or _ and use letters, digits, _ and - (no dots)")
            return nil
        }
        var entry = NodeEntry(id: id, idNode: idField.value, entryNode: entryNode)

        if let typeField = fields["type"] {
            let typeName = typeField.value.scalar?.string ?? ""
            if let type = registry[typeName] {
                entry.type = type
            } else {
                error(typeField.value, "unknown node type '\(typeName)'",
                    hint: Suggestions.hint(for: typeName, in: registry.names, noun: "node type") + " (`pipeline nodes` lists them)")
            }
        } else {
            error(entryNode, "node '\(id)' has no 'type'", hint: "add `type: ...`; `pipeline nodes` lists the types")
        }

        if let field = fields["concurrency"] {
            if let n = convert(field.value).intValue, (1...64).contains(n) {
                entry.concurrency = n
            } else {
                error(field.value, "'concurrency' must be an integer from 1 to 64")
            }
        }
        if let field = fields["ordered"] {
            if let b = convert(field.value).boolValue { entry.ordered = b } else { error(field.value, "'ordered' must be true or false") }
        }
        if let field = fields["on_error"] {
            if let s = convert(field.value).stringValue, let p = ErrorPolicy(rawValue: s) {
                entry.onError = p
            } else {
                error(field.value, "'on_error' must be one of 'skip', 'fail'")
            }
        }
        if let field = fields["queue"] { readQueue(field.value, into: &entry) }

        if let type = entry.type {
            if type.isSource, entry.concurrency > 1, let field = fields["concurrency"] {
                error(field.value, "a source node (no inputs) runs once; 'concurrency' must be 1")
            }
            if type is any ItemCollector.Type, !type.isSource, entry.concurrency > 1, let field = fields["concurrency"] {
                error(field.value, "'\(type.type)' gathers whole items in one copy; 'concurrency' must be 1")
            }
            entry.options = readOptions(fields["with"]?.value, type: type, entryNode: entryNode, id: id)
        }
        if let field = fields["inputs"] {
            if let map = field.value.mapping {
                for (port, ref) in map {
                    guard let portName = port.scalar?.string, let refText = ref.scalar?.string else {
                        error(ref, "each input is `port: node.port`")
                        if let portName = port.scalar?.string { entry.malformedInputs.insert(portName) }
                        continue
                    }
                    entry.inputs.append((portName, refText, port, ref))
                }
            } else {
                error(field.value, "'inputs' must be a mapping of `port: node.port`")
            }
        }
        return entry
    }

    mutating func readQueue(_ node: Yams.Node, into entry: inout NodeEntry) {
        guard let map = node.mapping else {
            error(node, "'queue' must be a mapping like `{ capacity: 16, policy: block }`")
            return
        }
        for (key, value) in map {
            switch key.scalar?.string ?? "" {
            case "capacity":
                if let n = convert(value).intValue, (1...1_000_000).contains(n) {
                    entry.capacity = n
                } else {
                    error(value, "queue 'capacity' must be an integer from 1 to 1000000")
                }
            case "policy":
                if let s = convert(value).stringValue, let p = QueuePolicy(rawValue: s) {
                    entry.policy = p
                } else {
                    error(value, "queue 'policy' must be one of " + QueuePolicy.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", "))
                }
            case let other:
                error(key, "unknown queue key '\(other)'", hint: Suggestions.hint(for: other, in: ["capacity", "policy"], noun: "queue key"))
            }
        }
    }

    mutating func readOptions(_ node: Yams.Node?, type: any PipelineNode.Type, entryNode: Yams.Node, id: String) -> Options {
        var given: [String: Value] = [:]
        var keyNodes: [String: Yams.Node] = [:]
        var valueNodes: [String: Yams.Node] = [:]
        if let node {
            if let map = node.mapping {
                for (key, value) in map {
                    let name = key.scalar?.string ?? ""
                    keyNodes[name] = key
                    valueNodes[name] = value
                    given[name] = convert(value)
                }
            } else if node.scalar.map(YAMLValue.scalar) != .null {
                error(node, "'with' must be a mapping of options")
            }
        }
        let context = OptionCheckContext(pipelineDirectory: (file as NSString).deletingLastPathComponent)
        let (options, issues) = Options.resolve(given, specs: type.options, context: context)
        for issue in issues {
            switch issue {
            case .unknown(let name, _):
                error(keyNodes[name], "unknown option '\(name)' for type '\(type.type)'", hint: issue.hint)
            case .missing(let spec):
                error(node ?? entryNode, "missing required option '\(spec.name)' for type '\(type.type)'", hint: issue.hint)
            case .invalid(let spec, let problem):
                error(valueNodes[spec.name], "option '\(spec.name)' of node '\(id)': \(problem)", hint: issue.hint)
            case .finding(let spec, let finding):
                error(Self.node(at: finding, in: valueNodes[spec.name]), "option '\(spec.name)' of node '\(id)': \(finding)",
                      hint: finding.hint)
            }
        }
        if issues.isEmpty, let checked = type as? any EnvironmentCheck.Type, let problem = checked.environmentProblem(options) {
            error(entryNode, "node '\(id)' (\(type.type)): \(problem.message)", hint: problem.hint)
        }
        return options
    }

    /// The YAML node a finding's path leads to from an option's value (its key when the
    /// finding is about the key), or the deepest node the path reaches.
    static func node(at finding: OptionFinding, in root: Yams.Node?) -> Yams.Node? {
        var node = root
        for (i, part) in finding.path.enumerated() {
            guard let current = node else { return nil }
            if let map = current.mapping, let entry = map.first(where: { $0.key.scalar?.string == part }) {
                if finding.atKey && i == finding.path.count - 1 { return entry.key }
                node = entry.value
            } else if let list = current.sequence, let index = Int(part), list.indices.contains(index) {
                node = list[index]
            } else {
                return current
            }
        }
        return node
    }

    // MARK: Edges

    /// Returns, per node, the binding of each input port (nil where unresolved).
    mutating func resolveInputs(_ entries: [NodeEntry]) -> [[PortRef?]] {
        var index: [String: Int] = [:]
        for (i, e) in entries.enumerated() { index[e.id] = i }
        var result: [[PortRef?]] = []
        for entry in entries {
            guard let type = entry.type else {
                result.append([])
                continue
            }
            var bound = [PortRef?](repeating: nil, count: type.inputs.count)
            for input in entry.inputs {
                guard let portIndex = type.inputs.firstIndex(where: { $0.name == input.port }) else {
                    error(input.portNode, "node '\(entry.id)' (\(type.type)) has no input port '\(input.port)'",
                        hint: Suggestions.hint(for: input.port, in: type.inputs.map(\.name), noun: "input port"))
                    continue
                }
                let parts = input.ref.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                if parts.contains(where: \.isEmpty) {
                    error(input.refNode, "input '\(input.port)' of node '\(entry.id)' has an invalid reference '\(input.ref)'",
                        hint: "write `NODE.PORT`, or `NODE` when that node has a single output")
                    continue
                }
                guard let sourceIndex = index[parts.first ?? ""] else {
                    error(input.refNode, "input '\(input.port)' of node '\(entry.id)' refers to unknown node '\(parts.first ?? "")'",
                        hint: Suggestions.hint(for: parts.first ?? "", in: index.keys.filter { $0 != entry.id }, noun: "node id"))
                    continue
                }
                let source = entries[sourceIndex]
                guard let sourceType = source.type else { continue }
                let outputIndex: Int
                if parts.count == 2 {
                    guard let o = sourceType.outputs.firstIndex(where: { $0.name == parts[1] }) else {
                        error(input.refNode, "node '\(source.id)' (\(sourceType.type)) has no output port '\(parts[1])'",
                            hint: Suggestions.hint(for: parts[1], in: sourceType.outputs.map(\.name), noun: "output port"))
                        continue
                    }
                    outputIndex = o
                } else if sourceType.outputs.count == 1 {
                    outputIndex = 0
                } else {
                    error(input.refNode, "'\(input.ref)' must name an output port: `\(source.id).PORT`",
                        hint: Suggestions.hint(for: "", in: sourceType.outputs.map(\.name), noun: "output port"))
                    continue
                }
                let produced = sourceType.outputs[outputIndex].type
                let expected = type.inputs[portIndex].type
                if !expected.accepts(produced) {
                    error(input.refNode,
                        "port type mismatch: '\(source.id).\(sourceType.outputs[outputIndex].name)' produces \(produced) "
                            + "but '\(entry.id).\(input.port)' expects \(expected)",
                        hint: "connect an output of type \(expected), or convert it with a node in between")
                    continue
                }
                bound[portIndex] = PortRef(node: sourceIndex, port: outputIndex)
            }
            for (i, port) in type.inputs.enumerated() where bound[i] == nil {
                if entry.inputs.contains(where: { $0.port == port.name }) || entry.malformedInputs.contains(port.name) {
                    continue
                }
                error(entry.entryNode, "input port '\(port.name)' of node '\(entry.id)' is not connected",
                    hint: "add `inputs: { \(port.name): NODE.PORT }` (\(port.type))")
            }
            result.append(bound)
        }
        return result
    }

    /// Reports each cycle once, naming its nodes in order.
    mutating func checkCycles(_ entries: [NodeEntry], bindings: [[PortRef?]]) {
        let n = entries.count
        // color: 0 unvisited, 1 on stack, 2 done
        var color = [Int](repeating: 0, count: n)
        var stack: [Int] = []
        var reported = Set<Set<Int>>()
        func visit(_ v: Int, _ pass: inout LoadPass) {
            color[v] = 1
            stack.append(v)
            for ref in bindings[v] {
                guard let u = ref?.node else { continue }
                if color[u] == 1 {
                    let cycle = Array(stack[stack.lastIndex(of: u)!...])
                    if reported.insert(Set(cycle)).inserted {
                        // Inputs point upstream; print in data-flow order.
                        let names = cycle.reversed().map { entries[$0].id } + [entries[cycle.last!].id]
                        pass.error(entries[v].entryNode, "cycle: " + names.joined(separator: " -> "),
                            hint: "a pipeline is a directed acyclic graph; remove one of these inputs")
                    }
                } else if color[u] == 0 {
                    visit(u, &pass)
                }
            }
            stack.removeLast()
            color[v] = 2
        }
        for v in 0..<n where color[v] == 0 { visit(v, &self) }
    }
}
