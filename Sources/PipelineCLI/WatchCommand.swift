import ArgumentParser
import Foundation
import PipelineCore
import PipelineWatch

struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Process every file of a folder exactly once, then new files as they land.",
        discussion: """
            The pipeline must have one `source.watch` node; --dir and the other flags override its
            options. Progress and the exactly-once ledger survive crashes: restart the same command
            and it resumes. Ctrl-C finishes the items in flight (they are resumed next time if you
            press it twice). Per-item sinks (sink.files, image and audio writers) publish each
            item's outputs (written, fsynced, renamed) before the ledger marks it done; an
            appending sink.jsonl has each item's lines appended with its done row, exactly once.
            `pipeline describe TYPE` states each sink's guarantee.
            """)

    @Argument(help: "The pipeline file.") var file: String
    @Option(help: "The folder to watch (overrides the source.watch node's dir).") var dir: String?
    @Flag(help: "Watch subfolders too.") var recursive = false
    @Option(name: .customLong("pattern"), help: "Only file names matching this glob (repeatable).") var patterns: [String] = []
    @Option(help: ArgumentHelp("The ledger database (default INBOX/.pipeline/ledger.sqlite).", valueName: "path"))
    var state: String?
    @Option(help: ArgumentHelp(
        "Keep the ledger in PostgreSQL instead of SQLite (default: $PIPELINE_LEDGER).", valueName: "postgres-url"))
    var ledger: String?
    @Option(help: ArgumentHelp(
        "Only enqueue what lands on this PostgreSQL queue for `pipeline worker`; run nothing here.", valueName: "url"))
    var queue: String?
    @Option(name: .customLong("queue-name"), help: "The queue in that database (default: the pipeline's name).")
    var queueName: String?
    @Option(help: ArgumentHelp("With --queue: the shared root paths are stored relative to (default: --dir).", valueName: "dir"))
    var root: String?
    @Option(help: "Seconds a still-open file must hold still before it is taken.") var settle: Double?
    @Flag(help: "Print the ledger's counts and failed items, then exit.") var status = false
    @Flag(name: .customLong("retry-failed"), help: "Queue the failed items again, then watch.") var retryFailed = false
    @Flag(name: .customLong("exit-when-idle"), help: "Stop once everything is processed and the folder is quiet.")
    var exitWhenIdle = false
    @OptionGroup var params: ParamOverrides
    @Option(help: "Threads for node copies, the worker pool and OpenBLAS each (default: PIPELINE_THREADS, else all cores).")
    var threads: Int?
    @OptionGroup var isa: ISAOptions

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        try isa.apply()
        var graph = try loadOrExit(file, overrides: try params.pairs())
        let watchers = graph.nodes.filter { $0.type == WatchSource.self }
        guard watchers.count == 1, let node = watchers.first else {
            Terminal.error(
                "\(file): `pipeline watch` needs exactly one node of type source.watch (found \(watchers.count))")
            throw Exit.invalid
        }
        var overrides: [String: Value] = [:]
        if let dir { overrides["dir"] = .string(dir) }
        if recursive { overrides["recursive"] = true }
        if !patterns.isEmpty { overrides["patterns"] = .array(patterns.map { .string($0) }) }
        if let state { overrides["state"] = .string(state) }
        if let url = ledger ?? ProcessInfo.processInfo.environment["PIPELINE_LEDGER"].flatMap({ $0.isEmpty ? nil : $0 }) {
            guard WatchSource.isPostgresURL(url) else {
                Terminal.error("--ledger takes a postgres:// URL (use --state for a SQLite file): \(url)")
                throw Exit.invalid
            }
            overrides["state"] = .string(url)
        }
        if let settle { overrides["settle_seconds"] = .double(settle) }
        if exitWhenIdle { overrides["exit_when_idle"] = true }
        do {
            graph = try graph.overridingOptions(of: node.id, with: overrides)
        } catch {
            Terminal.error("\(error)")
            throw Exit.invalid
        }
        let watchNode = graph.nodes.first { $0.id == node.id }!
        let ledgerPath = WatchSource.ledgerPath(watchNode.options)
        if let queue {
            var options = QueueOptions()
            options.queue = queue
            options.queueName = queueName
            options.root = root
            let binding = try QueueBinding.load(file, options, overrides: try params.pairs())
            let producer = QueueProducer(
                binding: QueueBinding(graph: graph, watchNode: watchNode, name: binding.name, root: binding.root, hash: binding.hash),
                queue: try binding.open(queue, file: file))
            try producer.run()
            return
        }

        if status {
            try printStatus(ledgerPath, watchNode)
            return
        }
        if let problem = WatchLayout.problem(in: graph, watchNode: watchNode) {
            Terminal.error(problem)
            throw Exit.invalid
        }
        // A PostgreSQL ledger that cannot be reached (or is newer) is a usage error, before any work.
        if WatchSource.isPostgresURL(ledgerPath) { _ = try openLedger(watchNode) }
        if retryFailed {
            let count = try openLedger(watchNode).retryFailed()
            Terminal.line("queued \(count) failed item\(count == 1 ? "" : "s") again")
        }
        try RunCommand.execute(
            graph: graph, progress: Terminal.stderrIsTTY, perItemLines: !Terminal.stderrIsTTY, threads: threads)
    }

    /// The ledger at a path or URL; a database that cannot be reached exits 2.
    private func openLedger(_ watchNode: GraphNode) throws -> any ItemLedger {
        do {
            return try WatchSource.openLedger(watchNode.options)
        } catch {
            Terminal.error("\(error)")
            throw Exit.invalid
        }
    }

    private func printStatus(_ ledgerPath: String, _ watchNode: GraphNode) throws {
        guard WatchSource.isPostgresURL(ledgerPath) || FileManager.default.fileExists(atPath: ledgerPath) else {
            print("no ledger at \(ledgerPath): nothing processed yet")
            return
        }
        let ledger = try openLedger(watchNode)
        let counts = try ledger.counts()
        print(Ledger.State.allCases.map { "\($0.rawValue): \(counts[$0] ?? 0)" }.joined(separator: "  "))
        for entry in try ledger.entries(in: .failed) {
            print("failed \(entry.path) (\(entry.attempts) attempt\(entry.attempts == 1 ? "" : "s")): \(entry.error ?? "")")
        }
        for entry in try ledger.entries(in: .queued) where entry.error != nil {
            print("retrying \(entry.path): \(entry.error ?? "")")
        }
    }
}

/// Checks that a watch pipeline cannot feed its own outputs back in or publish its state.
enum WatchLayout {
    static func problem(in graph: PipelineGraph, watchNode: GraphNode) -> String? {
        let inbox = absolute(watchNode.options.string("dir")!)
        let ledgerDir = absolute((WatchSource.ledgerPath(watchNode.options) as NSString).deletingLastPathComponent)
        for node in graph.nodes {
            guard let publisher = node.type as? any FilePublisher.Type else { continue }
            if let problem = publisher.watchProblem(node.options) {
                return "node '\(node.id)': \(problem)"
            }
            for (path, isDirectory) in publisher.publishedPaths(node.options) {
                let published = absolute(path)
                if isInside(published, inbox) {
                    return "node '\(node.id)' writes \(published), inside the watched folder \(inbox): "
                        + "its outputs would be processed again; write them elsewhere"
                }
                if isDirectory && isInside(ledgerDir, published) || published == ledgerDir {
                    return "the ledger folder \(ledgerDir) is inside node '\(node.id)''s output folder \(published); "
                        + "put the state elsewhere with --state"
                }
            }
        }
        return nil
    }

    static func absolute(_ path: String) -> String {
        let full = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return URL(fileURLWithPath: full).standardizedFileURL.path
    }

    static func isInside(_ path: String, _ dir: String) -> Bool {
        path == dir || path.hasPrefix(dir.hasSuffix("/") ? dir : dir + "/")
    }
}
