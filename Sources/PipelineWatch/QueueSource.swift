import Foundation
import PipelineCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A source that takes its items from a shared PostgreSQL queue (`pipeline worker`): many
/// workers on many machines run the same pipeline file, each item exactly once.
///
/// Claims come in batches (`FOR UPDATE SKIP LOCKED`) under a lease that a heartbeat thread
/// extends while the item runs. When an item finishes, its per-item sinks have published
/// their files (temporary + fsync + rename); the item is then marked done with its output
/// manifest, and its appended bytes reserved, in one transaction that applies only if this
/// claim still holds the lease. A worker that dies or stops loses its lease and another one
/// takes the item. Failed items are retried with exponential backoff and recorded failed with
/// the reason after the last attempt. Idle workers sleep on LISTEN, with polling as the
/// fallback (and for retries that fall due).
public final class QueueSource: PipelineNode, @unchecked Sendable {
    public static let type = "source.queue"
    public static let summary = "Emits items claimed from a shared PostgreSQL queue (pipeline worker)."
    public static let inputs: [PortSpec] = []
    public static let outputs = [PortSpec("path", .path, doc: "the file to process (also the item id)")]
    public static let options = [
        OptionSpec("queue", .string, required: true, doc: "the PostgreSQL URL (postgres://user@host/db)"),
        OptionSpec("queue_name", .string, required: true, doc: "the queue in that database"),
        OptionSpec("root", .string, required: true, doc: "the shared root item paths are relative to"),
        OptionSpec("worker", .string, default: "", doc: "this worker's name in leases (default host:pid:random)"),
        OptionSpec("batch", .int, default: 8, range: 1...10_000, doc: "items claimed per query"),
        OptionSpec("max_in_flight", .int, default: 16, range: 1...100_000, doc: "most items claimed and not finished"),
        OptionSpec("lease_seconds", .double, default: 30, range: 0.5...86400,
            doc: "how long a claim lasts without a heartbeat; the heartbeat renews it every third of this"),
        OptionSpec("retries", .int, default: 2, range: 0...100, doc: "retries of a failed item before it is recorded failed"),
        OptionSpec("backoff_seconds", .double, default: 1.0, range: 0...86400, doc: "first retry delay; doubles each retry"),
        OptionSpec("poll_seconds", .double, default: 1.0, range: 0.01...3600,
            doc: "longest sleep between claims when no notification comes"),
        OptionSpec("exit_when_idle", .bool, default: false,
            doc: "stop once the queue has nothing queued or running for idle_seconds (batch mode)"),
        OptionSpec("idle_seconds", .double, default: 1.0, range: 0...86400, doc: "quiet time before exit_when_idle stops"),
    ]
    public static let placedByCommand: String? = """
        `pipeline worker FILE --queue postgres://…` puts it in place of the file's source.watch node \
        (its options come from that node and the worker's flags); write source.watch in the file
        """
    public static let example = """
        # in the pipeline file (source.queue itself cannot be written there):
        - id: inbox
          type: source.watch
          with: { dir: /mnt/shared/inbox, retries: 2 }
        # on each machine:
        #   pipeline worker photos.yaml --queue postgres://pipeline@db.lan/pipeline --batch 32 --max-in-flight 64
        """

    private let context: NodeContext
    private let queue: WorkQueue
    private let heartbeatQueue: WorkQueue
    /// Done and failed records go through their own connection, so commits and claims overlap.
    private let commitQueue: WorkQueue
    private let root: String
    private let owner: String
    private let batch: Int
    private let maxInFlight: Int
    private let lease: Double
    private let retries: Int
    private let backoff: Double
    private let pollSeconds: Double
    private let exitWhenIdle: Bool
    private let idleSeconds: Double
    private let inFlight = Mutex<[String: WorkQueue.Claim]>([:])
    private let stopHeartbeat = Atomic<Bool>(false)

    public init(options: Options, context: NodeContext) throws {
        self.context = context
        let url = options.string("queue")!, name = options.string("queue_name")!
        queue = try WorkQueue(url: url, name: name)
        heartbeatQueue = try WorkQueue(url: url, name: name)
        commitQueue = try WorkQueue(url: url, name: name)
        root = Self.canonical(options.string("root")!)
        let given = options.string("worker") ?? ""
        owner = given.isEmpty
            ? "\(ProcessInfo.processInfo.hostName):\(getpid()):\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
            : given
        batch = options.int("batch")!
        maxInFlight = options.int("max_in_flight")!
        lease = options.double("lease_seconds")!
        retries = options.int("retries")!
        backoff = options.double("backoff_seconds")!
        pollSeconds = options.double("poll_seconds")!
        exitWhenIdle = options.bool("exit_when_idle")!
        idleSeconds = options.double("idle_seconds")!
        let warn = context.warn
        queue.log = warn
        heartbeatQueue.log = warn
        commitQueue.log = warn
        context.commitItems { [weak self] outcome in
            self?.finished(outcome)
        }
    }

    public func process(_ input: NodeInput, _ output: NodeOutput) throws {
        // Bytes an earlier worker committed but did not live to write.
        let flushed = try queue.flushPending()
        if flushed > 0 { context.warn("wrote \(flushed) appended chunk\(flushed == 1 ? "" : "s") a stopped worker had committed") }
        let listener = try? PostgresConnection(queue.url)
        if let listener { try? listener.execute("LISTEN \(WorkQueue.channel)") }
        let heartbeat = Thread { [self] in beat() }
        heartbeat.start()
        Thread { [self] in commitLoop() }.start()
        defer { stopHeartbeat.store(true, ordering: .relaxed) }

        var idleSince: Double?
        var lastFlush = Date().timeIntervalSince1970
        while !output.isStopping {
            let free = maxInFlight - inFlight.withLock(\.count)
            var claimed: [WorkQueue.Claim] = []
            // Refill in batches rather than one item per query as each finishes.
            let refill = min(batch, max(1, maxInFlight / 2))
            if free >= refill {
                claimed = try queue.claim(owner: owner, limit: min(batch, free), lease: lease, maxAttempts: retries + 1)
                for (i, claim) in claimed.enumerated() {
                    if output.isStopping {
                        for rest in claimed[i...] { try queue.release(rest, owner: owner) }
                        break
                    }
                    try start(claim, output)
                }
            }
            let now = Date().timeIntervalSince1970
            if now - lastFlush > 5 {
                lastFlush = now
                try queue.flushPending()
            }
            if !claimed.isEmpty {
                idleSince = nil
                continue
            }
            if exitWhenIdle && inFlight.withLock(\.isEmpty) {
                if try queue.unfinished() == 0 {
                    idleSince = idleSince ?? now
                    if now - idleSince! >= idleSeconds { break }
                } else {
                    idleSince = nil
                }
            }
            if free < refill {
                waitForSlots(refill)
            } else if let listener, listener.isConnected {
                _ = try? listener.waitForNotifications(timeout: exitWhenIdle ? min(pollSeconds, 0.2) : pollSeconds)
            } else {
                if let listener { try? listener.reconnect(); try? listener.execute("LISTEN \(WorkQueue.channel)") }
                Thread.sleep(forTimeInterval: exitWhenIdle ? min(pollSeconds, 0.2) : pollSeconds)
            }
        }
        // Wait for the items in flight to be committed before the last flush (when stopping,
        // a little: items abandoned by a second Ctrl-C never finish, and are redone later).
        let deadline = Date().timeIntervalSince1970 + 10
        while !inFlight.withLock(\.isEmpty) && (!output.isStopping || Date().timeIntervalSince1970 < deadline) {
            Thread.sleep(forTimeInterval: 0.01)
        }
        try queue.flushPending()
    }

    /// Signalled whenever items leave `inFlight`: the claim loop waits on it for free slots.
    private let slotsFreed = NSCondition()

    /// Removes finished items from `inFlight` and wakes the claim loop.
    private func release(_ ids: [String]) {
        inFlight.withLock { flights in for id in ids { flights.removeValue(forKey: id) } }
        slotsFreed.lock()
        slotsFreed.broadcast()
        slotsFreed.unlock()
    }

    /// Waits until `slots` items could be claimed (or a little while, so the loop still
    /// flushes chunks and notices a stop).
    private func waitForSlots(_ slots: Int) {
        let deadline = Date().addingTimeInterval(0.1)
        slotsFreed.lock()
        while maxInFlight - inFlight.withLock(\.count) < slots {
            if !slotsFreed.wait(until: deadline) { break }
        }
        slotsFreed.unlock()
    }

    /// Emits one claimed item, or fails it for good when its path is not a file under the root.
    private func start(_ claim: WorkQueue.Claim, _ output: NodeOutput) throws {
        let path: String
        do {
            path = try Self.resolve(claim.path, root: root)
        } catch {
            try queue.fail(claim, owner: owner, error: "\(error)", retryDelay: nil)
            context.warn("item \(claim.id) refused: \(error)")
            return
        }
        let taken = inFlight.withLock { flights -> Bool in
            if flights[path] != nil { return true }
            flights[path] = claim
            return false
        }
        if taken {  // another version of the same path is running here; it waits its turn
            try queue.fail(claim, owner: owner, error: "another version of \(claim.path) was running", retryDelay: 0.5)
            return
        }
        do {
            try output.emit(.string(path), item: path)
        } catch let stopping as RunStopping {
            inFlight.withLock { _ = $0.removeValue(forKey: path) }
            try queue.release(claim, owner: owner)
            throw stopping
        }
        output.endItem()
    }

    /// The absolute path of an item path relative to `root`, refusing anything that leaves it
    /// (`..`, an absolute path elsewhere, a symbolic link out).
    public static func resolve(_ relative: String, root: String) throws -> String {
        let joined = relative.hasPrefix("/") ? relative : (root as NSString).appendingPathComponent(relative)
        let resolved = canonical(joined)
        let prefix = root.hasSuffix("/") ? root : root + "/"
        guard resolved.hasPrefix(prefix) else { throw QueueError.outsideRoot(path: relative, root: root) }
        return resolved
    }

    /// `path` made absolute with `.`, `..` and symbolic links resolved (realpath(3); for a
    /// file that does not exist, its folder's real path and its name).
    static func canonical(_ path: String) -> String {
        let lexical = URL(fileURLWithPath: path).standardizedFileURL.path
        func real(_ p: String) -> String? {
            guard let r = realpath(p, nil) else { return nil }
            defer { free(r) }
            return String(cString: r)
        }
        if let resolved = real(lexical) { return resolved }
        let parent = (lexical as NSString).deletingLastPathComponent
        if let folder = real(parent) { return (folder as NSString).appendingPathComponent((lexical as NSString).lastPathComponent) }
        return lexical
    }

    /// The heartbeat thread: renews the leases of the items in flight.
    private func beat() {
        let interval = lease / 3
        while !stopHeartbeat.load(ordering: .relaxed) {
            var slept = 0.0
            while slept < interval && !stopHeartbeat.load(ordering: .relaxed) {
                Thread.sleep(forTimeInterval: min(0.05, interval))
                slept += min(0.05, interval)
            }
            let claims = inFlight.withLock { Array($0.values) }
            do {
                try heartbeatQueue.heartbeat(owner: owner, claims: claims, lease: lease)
            } catch {
                context.warn("heartbeat: \(error)")
            }
        }
    }

    /// Finished items waiting for the committer thread, guarded by `commitSignal`.
    private var waiting: [(id: String, completion: WorkQueue.Completion)] = []
    private let commitSignal = NSCondition()

    /// The committer thread: marks finished items done in batches, one transaction (one WAL
    /// flush) for every item that finished while the previous commit was in progress, then
    /// writes their appended chunks. An item stays in flight (its lease renewed) until then.
    private func commitLoop() {
        while true {
            commitSignal.lock()
            while waiting.isEmpty { commitSignal.wait() }
            let batch = waiting
            waiting.removeAll()
            commitSignal.unlock()
            do {
                let results = try commitQueue.complete(batch.map(\.completion), owner: owner)
                var chunks: [WorkQueue.Chunk] = []
                for (entry, result) in zip(batch, results) {
                    if let result {
                        chunks += result
                    } else {
                        context.warn("\(entry.id): lease lost (this worker was stopped or cut off); another worker has the item")
                    }
                }
                try commitQueue.write(chunks)
            } catch {
                // The items stay `running` under our name; their leases run out and they are redone.
                context.warn("queue: \(error)")
            }
            release(batch.map(\.id))
        }
    }

    /// Called on a worker thread when an item's last packet is done.
    private func finished(_ outcome: ItemOutcome) {
        guard let claim = inFlight.withLock({ $0[outcome.id] }) else { return }
        if !outcome.failed {
            commitSignal.lock()
            waiting.append((outcome.id, WorkQueue.Completion(claim: claim, outputs: outcome.outputs, appends: outcome.appends)))
            commitSignal.signal()
            commitSignal.unlock()
            return
        }
        defer { release([outcome.id]) }
        do {
            if claim.attempt <= retries {
                let delay = backoff * pow(2, Double(claim.attempt - 1))
                try commitQueue.fail(claim, owner: owner, error: outcome.failure ?? "failed", retryDelay: delay)
            } else {
                try commitQueue.fail(claim, owner: owner, error: outcome.failure ?? "failed", retryDelay: nil)
            }
        } catch {
            context.warn("queue: \(error)")
        }
    }
}
