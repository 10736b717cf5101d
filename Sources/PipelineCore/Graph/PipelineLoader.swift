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
///
/// `run` goes through the phases in order, each in a file of its own:
/// 1. parse, with libyaml's marks as locations (`LoadPass+YAMLMarks.swift`);
/// 2. version, parameters and settings (`LoadPass+Parameters.swift`);
/// 3. node entries and their options against each type's schema (`LoadPass+Nodes.swift`);
/// 4. input bindings and port types (`LoadPass+Bindings.swift`);
/// 5. graph checks: cycles (`LoadPass+GraphChecks.swift`);
/// then builds the `PipelineGraph` (the plan) here.
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
            // Optional ports the file leaves unconnected are not part of the node in the graph.
            let connected = bindings[index].indices.filter { bindings[index][$0] != nil }
            return GraphNode(
                id: e.id, type: e.type!, options: e.options, inputs: connected.map { bindings[index][$0]! },
                inputPorts: connected.map { e.type!.inputs[$0] },
                concurrency: e.concurrency, ordered: e.ordered, onError: e.onError, queueCapacity: e.capacity,
                queuePolicy: e.policy, location: YAMLValue.location(e.entryNode, file: file))
        }
        return PipelineGraph(name: name, file: file, nodes: nodes, settings: settings)
    }
}
