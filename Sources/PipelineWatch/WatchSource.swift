import Foundation
import PipelineCore
import Synchronization

/// A source that processes every file in a folder exactly once, now and as files arrive.
///
/// Files already present are taken first, then new ones as inotify reports them (see
/// `FolderWatcher` for when a file counts as complete). Each version (path + content hash)
/// goes through the ledger: queued -> running -> done | failed. Only an item's outcome
/// (after its sinks published their files) marks it done, so after a crash the versions
/// left running are run again and nothing done is run twice. A failed item is retried with
/// exponential backoff, then recorded as failed with its error.
public final class WatchSource: PipelineNode, @unchecked Sendable {
    public static let type = "source.watch"
    public static let summary = "Emits every file of a folder exactly once, now and as new files land (durable ledger)."
    public static let inputs: [PortSpec] = []
    public static let outputs = [PortSpec("path", .path, doc: "the file to process (also the item id)")]
    public static let options = [
        OptionSpec("dir", .string, required: true, doc: "the folder to watch (the inbox)"),
        OptionSpec("recursive", .bool, default: false, doc: "watch subfolders too"),
        OptionSpec("patterns", .strings, default: ["*"], doc: "globs a file name must match"),
        OptionSpec("ignore", .strings, default: .array(FolderWatcher.defaultIgnore.map { .string($0) }),
            doc: "globs for names to ignore (partial and hidden files by default)"),
        OptionSpec("state", .string, default: "",
            doc: "ledger: a SQLite path (default: DIR/.pipeline/ledger.sqlite) or a postgres:// URL"),
        OptionSpec("settle_seconds", .double, default: 1.0, range: 0...3600,
            doc: "a file still open for writing is taken once its size and mtime hold still this long"),
        OptionSpec("changed", .choice(["reprocess", "ignore"]), default: "reprocess",
            doc: "a file whose content changes after it was processed: process the new version, or ignore it"),
        OptionSpec("retries", .int, default: 2, range: 0...100, doc: "retries of a failed item before it is recorded failed"),
        OptionSpec("backoff_seconds", .double, default: 1.0, range: 0...86400, doc: "first retry delay; doubles each retry"),
        OptionSpec("rescan_seconds", .double, default: 30, range: 0...86400,
            doc: "also rescan the folder this often (0: never) in case an event was lost"),
        OptionSpec("max_in_flight", .int, default: 16, range: 1...100_000,
            doc: "most items started and not yet finished; fewer means less to redo after a crash"),
        OptionSpec("exit_when_idle", .bool, default: false,
            doc: "stop once everything present is processed and nothing arrives for idle_seconds (batch mode)"),
        OptionSpec("idle_seconds", .double, default: 1.0, range: 0...86400, doc: "quiet time before exit_when_idle stops"),
    ]
    public static let example = """
        - id: inbox
          type: source.watch
          with: { dir: inbox, patterns: ["*.jpg", "*.png"] }
        """

    /// The ledger path for a watch node's options.
    public static func ledgerPath(_ options: Options) -> String {
        let state = options.string("state") ?? ""
        return state.isEmpty ? (options.string("dir")! as NSString).appendingPathComponent(".pipeline/ledger.sqlite") : state
    }

    /// Opens the ledger the options name: PostgreSQL for a `postgres://` or `postgresql://`
    /// URL (rows under the queue name `watch:` + the folder's absolute path), else SQLite.
    public static func openLedger(_ options: Options) throws -> any ItemLedger {
        let location = ledgerPath(options)
        if isPostgresURL(location) {
            let dir = URL(fileURLWithPath: options.string("dir")!).standardizedFileURL.path
            return try PostgresLedger(url: location, queue: "watch:" + dir)
        }
        return try Ledger(path: location)
    }

    /// True for the URL forms libpq takes as a PostgreSQL connection string.
    public static func isPostgresURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    private struct InFlight {
        let id: Int64
        let attempts: Int
    }

    private let ledger: any ItemLedger
    private let committer: AppendCommitter
    private let watcher: FolderWatcher
    private let context: NodeContext
    private let ignoreChanges: Bool
    private let retries: Int
    private let backoff: Double
    private let rescanSeconds: Double
    private let exitWhenIdle: Bool
    private let maxInFlight: Int
    private let idleSeconds: Double
    private let inFlight = Mutex<[String: InFlight]>([:])
    /// Versions skipped because `changed: ignore` (so rescans do not hash them again).
    private var ignored: Set<String> = []

    public init(options: Options, context: NodeContext) throws {
        self.context = context
        ignoreChanges = options.string("changed") == "ignore"
        retries = options.int("retries")!
        backoff = options.double("backoff_seconds")!
        rescanSeconds = options.double("rescan_seconds")!
        exitWhenIdle = options.bool("exit_when_idle")!
        maxInFlight = options.int("max_in_flight")!
        idleSeconds = options.double("idle_seconds")!
        watcher = try FolderWatcher(
            FolderWatcher.Configuration(
                directory: options.string("dir")!, recursive: options.bool("recursive")!,
                patterns: options.strings("patterns")!, ignore: options.strings("ignore")!,
                settleSeconds: options.double("settle_seconds")!))
        ledger = try Self.openLedger(options)
        committer = AppendCommitter(ledger: ledger)
        // The watch is the run's item committer: appending sinks stage their bytes on the
        // item, written with its `done` row (exactly once across crashes).
        context.commitItems { [weak self] outcome in
            self?.finished(outcome)
        }
    }

    public func process(_ input: NodeInput, _ output: NodeOutput) throws {
        for note in try committer.recover() { context.warn(note) }
        let recovered = try ledger.recoverRunning()
        if !recovered.isEmpty {
            context.warn("resuming \(recovered.count) item\(recovered.count == 1 ? "" : "s") a previous run left unfinished")
        }
        for path in watcher.scan() { watcher.consider(path) }
        var lastScan = Date().timeIntervalSince1970
        var lastActivity = lastScan
        while !output.isStopping {
            let ready = watcher.poll(timeout: 0.05)
            for path in ready { try discover(path) }
            let now = Date().timeIntervalSince1970
            if rescanSeconds > 0 && now - lastScan >= rescanSeconds {
                lastScan = now
                for path in watcher.scan() { try discover(path) }
            }
            var started = 0
            for entry in try ledger.due(at: now) where inFlight.withLock({ $0[entry.path] == nil }) {
                guard !output.isStopping, inFlight.withLock(\.count) < maxInFlight else { break }
                try start(entry, output)
                started += 1
            }
            if !ready.isEmpty || started > 0 || !inFlight.withLock(\.isEmpty) || watcher.hasUnsettled {
                lastActivity = now
            }
            if exitWhenIdle, now - lastActivity >= idleSeconds, try ledger.nextRetry() == nil {
                break
            }
        }
    }

    /// Records a ready file in the ledger unless this version is already known.
    private func discover(_ path: String) throws {
        guard let (size, mtime) = FolderWatcher.fileStat(path) else { return }  // gone again
        let latest = try ledger.latest(path: path)
        if let latest, latest.size == size, latest.mtime == mtime { return }  // same version as recorded
        let hash: String
        do {
            hash = try SHA256.file(path)
        } catch {
            // Unreadable (permissions): record the version as failed so it is reported, not retried forever.
            let key = "unreadable:\(size):\(mtime)"
            if try ledger.lookup(path: path, hash: key) == nil {
                let entry = try ledger.insert(path: path, size: size, mtime: mtime, hash: key)
                try ledger.markFailed(entry.id, error: "cannot read \(path): permission denied or unreadable", retryAt: nil)
                context.warn("cannot read \(path); recorded as failed")
            }
            return
        }
        if try ledger.lookup(path: path, hash: hash) != nil { return }  // same content saved again
        if latest != nil && ignoreChanges {
            if ignored.insert(path + "\u{0}" + hash).inserted {
                context.warn("\(path) changed after it was processed; ignored (changed: ignore)")
            }
            return
        }
        _ = try ledger.insert(path: path, size: size, mtime: mtime, hash: hash)
    }

    private func start(_ entry: Ledger.Entry, _ output: NodeOutput) throws {
        let attempts = try ledger.markRunning(entry.id)
        inFlight.withLock { $0[entry.path] = InFlight(id: entry.id, attempts: attempts) }
        do {
            try output.emit(.string(entry.path), item: entry.path)
        } catch let stopping as RunStopping {
            // Stopped between the check and the start: the item never began, so it is queued
            // again rather than left `running` until the next run recovers it.
            inFlight.withLock { _ = $0.removeValue(forKey: entry.path) }
            try ledger.requeue(entry.id)
            throw stopping
        }
        output.endItem()
    }

    /// Called on a worker thread when an item's last packet is done.
    private func finished(_ outcome: ItemOutcome) {
        guard let flight = inFlight.withLock({ $0.removeValue(forKey: outcome.id) }) else { return }
        do {
            if !outcome.failed {
                do {
                    try committer.commit(id: flight.id, outputs: outcome.outputs, appends: outcome.appends)
                } catch {
                    // Its shared files could not be written: the item is not done; try it again.
                    try ledger.markFailed(flight.id, error: "\(error)", retryAt: Date().timeIntervalSince1970 + backoff)
                }
            } else if flight.attempts <= retries {
                let delay = backoff * pow(2, Double(flight.attempts - 1))
                try ledger.markFailed(
                    flight.id, error: outcome.failure ?? "failed", retryAt: Date().timeIntervalSince1970 + delay)
            } else {
                try ledger.markFailed(flight.id, error: outcome.failure ?? "failed", retryAt: nil)
            }
        } catch {
            context.warn("ledger: \(error)")
        }
    }
}
