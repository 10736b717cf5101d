import Foundation
import Yams

// Phase 3, nodes and options: each entry's keys, its type from the registry, `queue:`, and its
// options checked against the type's schema.
extension LoadPass {
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
            if let type = registry[typeName], let command = type.placedByCommand {
                error(typeField.value, "node type '\(typeName)' cannot be written in a pipeline file", hint: command)
            } else if let type = registry[typeName] {
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
}
