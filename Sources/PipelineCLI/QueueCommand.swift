import ArgumentParser
import Foundation
import PipelineCore
import PipelineWatch

/// The flags every queue command shares: where the queue is, its name and the shared root.
struct QueueOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "The PostgreSQL queue, e.g. postgres://user@host/db (default: $PIPELINE_QUEUE).", valueName: "url"))
    var queue: String?
    @Option(name: .customLong("queue-name"), help: "The queue in that database (default: the pipeline's name).")
    var queueName: String?
    @Option(help: ArgumentHelp(
        "The shared root item paths are stored relative to (default: the source.watch node's dir).", valueName: "dir"))
    var root: String?

    /// The URL from the flag or the environment, or a usage error.
    func url() throws -> String {
        if let queue { return queue }
        if let env = ProcessInfo.processInfo.environment["PIPELINE_QUEUE"], !env.isEmpty { return env }
        Terminal.error("no queue: pass --queue postgres://user@host/db or set PIPELINE_QUEUE")
        throw Exit.invalid
    }
}

/// A pipeline file bound to a queue: its graph, watch node, queue name, root and hash.
struct QueueBinding {
    let graph: PipelineGraph
    let watchNode: GraphNode
    let name: String
    let root: String
    let hash: String

    /// Loads `file` (exactly one source.watch node) and works out the queue it uses.
    static func load(_ file: String, _ options: QueueOptions, overrides: [(String, String)]) throws -> QueueBinding {
        let graph = try loadOrExit(file, overrides: overrides)
        let watchers = graph.nodes.filter { $0.type == WatchSource.self }
        guard watchers.count == 1, let node = watchers.first else {
            Terminal.error("\(file): a queue pipeline needs exactly one node of type source.watch (found \(watchers.count))")
            throw Exit.invalid
        }
        let root = URL(fileURLWithPath: WatchLayout.absolute(options.root ?? node.options.string("dir")!))
            .resolvingSymlinksInPath().path
        let hash: String
        do {
            hash = try SHA256.file(file)
        } catch {
            Terminal.error("\(file): \(error)")
            throw Exit.invalid
        }
        return QueueBinding(
            graph: graph, watchNode: node, name: options.queueName ?? graph.name, root: root, hash: hash)
    }

    /// Connects to the queue and binds it to this pipeline; a database that cannot be
    /// reached, a newer schema or a queue bound to another file exits 2 before any work.
    func open(_ url: String, file: String) throws -> WorkQueue {
        let queue = try QueueCommand.connect(url, name: name)
        do {
            try queue.bind(pipeline: file, hash: hash)
        } catch {
            Terminal.error("\(error)")
            throw Exit.invalid
        }
        return queue
    }
}

/// `pipeline queue status|retry-failed|purge`.
struct QueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "Inspect and manage a shared PostgreSQL queue.",
        subcommands: [Status.self, RetryFailed.self, Purge.self])

    /// Connects to a queue, or exits 2 with the reason (host and user named).
    static func connect(_ url: String, name: String) throws -> WorkQueue {
        do {
            return try WorkQueue(url: url, name: name)
        } catch {
            Terminal.error("\(error)")
            throw Exit.invalid
        }
    }

    /// The queue a subcommand acts on: --queue-name, or the name of FILE's pipeline.
    struct Target: ParsableArguments {
        @Argument(help: "The pipeline file (names the queue unless --queue-name is given).") var file: String?
        @OptionGroup var options: QueueOptions

        func open() throws -> WorkQueue {
            let url = try options.url()
            if let name = options.queueName { return try QueueCommand.connect(url, name: name) }
            guard let file else {
                Terminal.error("name the queue: give the pipeline file or --queue-name")
                throw Exit.invalid
            }
            return try QueueCommand.connect(url, name: try loadOrExit(file, overrides: []).name)
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the queue's counts and its failed items.")
        @OptionGroup var target: Target

        func run() throws {
            let queue = try target.open()
            let counts = try queue.counts()
            print("queue \(queue.name): " + Ledger.State.allCases.map { "\($0.rawValue): \(counts[$0] ?? 0)" }.joined(separator: "  "))
            for entry in try queue.entries(in: .failed) {
                print("failed \(entry.path) (\(entry.attempts) attempt\(entry.attempts == 1 ? "" : "s")): \(entry.error ?? "")")
            }
            for entry in try queue.entries(in: .queued) where entry.error != nil {
                print("retrying \(entry.path): \(entry.error ?? "")")
            }
        }
    }

    struct RetryFailed: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "retry-failed", abstract: "Queue the failed items again with their attempts reset.")
        @OptionGroup var target: Target

        func run() throws {
            let n = try target.open().retryFailed()
            print("queued \(n) failed item\(n == 1 ? "" : "s") again")
        }
    }

    struct Purge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete done items (so their files may be enqueued again), or the whole queue.")
        @OptionGroup var target: Target
        @Flag(help: "Delete failed items too.") var failed = false
        @Flag(help: "Delete the whole queue: every item, its append records and its pipeline binding.") var all = false

        func run() throws {
            let n = try target.open().purge(failed: failed, everything: all)
            print("deleted \(n) item\(n == 1 ? "" : "s")")
        }
    }
}
