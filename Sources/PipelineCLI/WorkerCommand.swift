import ArgumentParser
import Foundation
import PipelineCore
import PipelineWatch

/// `pipeline worker FILE --queue URL`: one of many processes, on any number of machines,
/// running the same pipeline over a shared PostgreSQL queue.
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run the pipeline on items claimed from a shared PostgreSQL queue.",
        discussion: """
            The pipeline's source.watch node is replaced by a queue source: items are claimed in
            batches (FOR UPDATE SKIP LOCKED) under a lease a heartbeat renews; each item's outputs
            are published atomically and the item is marked done with its output manifest in one
            transaction. A worker that dies or is cut off loses its lease and another takes the
            item. Start as many as you like; `pipeline queue status` shows progress. An
            unreachable database, a newer schema or a queue bound to another pipeline file exits
            with code 2 before any work.
            """)

    @Argument(help: "The pipeline file (one source.watch node).") var file: String
    @OptionGroup var options: QueueOptions
    @Option(help: "Items claimed per query.") var batch: Int?
    @Option(name: .customLong("max-in-flight"), help: "Most items claimed and not finished.") var maxInFlight: Int?
    @Option(help: ArgumentHelp("Seconds a claim lasts without a heartbeat.", valueName: "seconds")) var lease: Double?
    @Option(help: "Retries of a failed item before it is recorded failed (default: the watch node's).") var retries: Int?
    @Option(name: .customLong("worker-id"), help: "This worker's name in leases (default host:pid:random).") var workerID: String?
    @Flag(name: .customLong("exit-when-idle"), help: "Stop once nothing is queued or running.") var exitWhenIdle = false
    @OptionGroup var params: ParamOverrides
    @OptionGroup var isa: ISAOptions

    func run() throws {
        try isa.apply()
        let binding = try QueueBinding.load(file, options, overrides: try params.pairs())
        if let problem = WatchLayout.problem(in: binding.graph, watchNode: binding.watchNode) {
            Terminal.error(problem)
            throw Exit.invalid
        }
        let url = try options.url()
        // Connect, check the schema and the binding before anything runs.
        _ = try binding.open(url, file: file)
        let watch = binding.watchNode.options
        var values: [String: Value] = [
            "queue": .string(url), "queue_name": .string(binding.name), "root": .string(binding.root),
            "retries": .int(retries ?? watch.int("retries")!), "backoff_seconds": .double(watch.double("backoff_seconds")!),
            "max_in_flight": .int(maxInFlight ?? watch.int("max_in_flight")!),
            "exit_when_idle": .bool(exitWhenIdle || watch.bool("exit_when_idle")!),
            "idle_seconds": .double(watch.double("idle_seconds")!),
        ]
        if let batch { values["batch"] = .int(batch) }
        if let lease { values["lease_seconds"] = .double(lease) }
        if let workerID { values["worker"] = .string(workerID) }
        let graph: PipelineGraph
        do {
            graph = try binding.graph.replacingSource(binding.watchNode.id, with: QueueSource.self, options: values)
        } catch {
            Terminal.error("\(error)")
            throw Exit.invalid
        }
        try RunCommand.execute(graph: graph, progress: false, perItemLines: true)
    }
}

extension PipelineGraph {
    /// A copy with source node `id` replaced by a node of type `type` with `values` as options.
    func replacingSource(_ id: String, with type: any PipelineNode.Type, options values: [String: Value]) throws -> PipelineGraph {
        guard let index = nodes.firstIndex(where: { $0.id == id }) else { throw NodeError("no node '\(id)'") }
        let node = nodes[index]
        let (options, issues) = Options.resolve(values, specs: type.options)
        if let issue = issues.first { throw NodeError("node '\(id)': \(issue)") }
        var updated = nodes
        updated[index] = GraphNode(
            id: node.id, type: type, options: options, inputs: node.inputs, inputPorts: node.inputPorts, concurrency: 1,
            ordered: node.ordered,
            onError: node.onError, queueCapacity: node.queueCapacity, queuePolicy: node.queuePolicy, location: node.location)
        return PipelineGraph(name: name, file: self.file, nodes: updated, settings: settings)
    }
}
