import Foundation
import ArgumentParser
import CustomNodes
import PipelineCore
import PipelineNodes

@main
struct PipelineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Run multimodal dataflow pipelines declared in YAML.",
        subcommands: [
            RunCommand.self, WatchCommand.self, ValidateCommand.self, NodesCommand.self, DescribeCommand.self, GraphCommand.self,
            BenchCommand.self, GenerateCommand.self, RenderCommand.self, ViewCommand.self,
            WorkerCommand.self, EnqueueCommand.self, QueueCommand.self,
        ])
}

/// Built-in nodes plus those compiled from `nodes/`.
let registry = NodeRegistry(BuiltinNodes.all, CustomNodes.all)

/// Exit codes shared by the commands.
enum Exit {
    static let invalid = ExitCode(2)
    static let failed = ExitCode(1)
    static let interrupted = ExitCode(130)
}

/// `--set name=value` pairs.
struct ParamOverrides: ParsableArguments {
    @Option(name: .customLong("set"), help: ArgumentHelp("Override a parameter: --set name=value (repeatable).", valueName: "name=value"))
    var sets: [String] = []

    func pairs() throws -> [(String, String)] {
        try sets.map { entry in
            guard let eq = entry.firstIndex(of: "="), eq != entry.startIndex else {
                throw ValidationError("--set takes name=value, got '\(entry)'")
            }
            return (String(entry[..<eq]), String(entry[entry.index(after: eq)...]))
        }
    }
}

/// Loads a pipeline or prints its diagnostics and exits 2.
func loadOrExit(_ file: String, overrides: [(String, String)]) throws -> PipelineGraph {
    do {
        return try PipelineLoader(registry: registry).load(file: file, overrides: overrides)
    } catch let failure as ValidationFailure {
        Terminal.error(failure.description)
        throw Exit.invalid
    }
}

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate", abstract: "Check a pipeline file; exit 0 when valid, 2 when not.")

    @Argument(help: "The pipeline file.") var file: String
    @OptionGroup var params: ParamOverrides

    func run() throws {
        let graph = try loadOrExit(file, overrides: try params.pairs())
        print("\(file): ok (\(graph.nodes.count) nodes, \(graph.edges.count) edges)")
    }
}

struct NodesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "nodes", abstract: "List every node type, one per line.")

    func run() {
        let width = registry.names.map(\.count).max() ?? 0
        for name in registry.names {
            print(name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + registry[name]!.summary)
        }
    }
}

struct DescribeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe", abstract: "Show a node type's ports, options and an example.")

    @Argument(help: "A node type, e.g. source.files.") var type: String

    func run() throws {
        guard let node = registry[type] else {
            Terminal.error("unknown node type '\(type)'; " + Suggestions.hint(for: type, in: registry.names, noun: "node type"))
            throw Exit.invalid
        }
        print(NodeDescription.text(node))
    }
}

struct GraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "graph", abstract: "Print a pipeline's graph as Graphviz dot or Mermaid.")

    enum Format: String, ExpressibleByArgument, CaseIterable { case dot, mermaid }

    @Argument(help: "The pipeline file.") var file: String
    @Option(help: "dot or mermaid.") var format: Format = .dot
    @OptionGroup var params: ParamOverrides

    func run() throws {
        let graph = try loadOrExit(file, overrides: try params.pairs())
        print(format == .dot ? GraphRender.dot(graph) : GraphRender.mermaid(graph))
    }
}
