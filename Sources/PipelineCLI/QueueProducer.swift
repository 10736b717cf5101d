import Foundation
import PipelineCore
import PipelineWatch

/// `pipeline watch FILE --queue URL`: watches the folder as a watch would (settle rules,
/// rescans) but only enqueues each new version (path + content hash) for `pipeline worker`s.
struct QueueProducer {
    let binding: QueueBinding
    let queue: WorkQueue

    func run() throws {
        let options = binding.watchNode.options
        let watcher = try FolderWatcher(
            FolderWatcher.Configuration(
                directory: options.string("dir")!, recursive: options.bool("recursive")!,
                patterns: options.strings("patterns")!, ignore: options.strings("ignore")!,
                settleSeconds: options.double("settle_seconds")!))
        let rescan = options.double("rescan_seconds")!
        let exitWhenIdle = options.bool("exit_when_idle")!
        let idleSeconds = options.double("idle_seconds")!
        let stop = StopFlag()
        let signals = SignalHandler { _ in stop.set() }
        defer { signals.cancel() }
        // (size, mtime) last enqueued per path, so an unchanged file is not hashed again.
        var seen: [String: (Int64, Double)] = [:]
        var total = 0
        func offer(_ paths: [String]) throws {
            var versions: [WorkQueue.Version] = []
            for path in paths {
                guard let stat = FolderWatcher.fileStat(path) else { continue }
                if let known = seen[path], known == stat { continue }
                guard let version = try? EnqueueCommand.version(of: path, root: binding.root) else { continue }
                seen[path] = stat
                versions.append(version)
            }
            let added = try queue.enqueue(versions)
            if added > 0 {
                total += added
                Terminal.line("enqueued \(added) (\(total) in all) on queue \(queue.name)")
            }
        }
        try offer(watcher.scan())
        var lastScan = Date().timeIntervalSince1970, lastActivity = lastScan
        while !stop.isSet {
            let ready = watcher.poll(timeout: 0.05)
            try offer(ready)
            let now = Date().timeIntervalSince1970
            if rescan > 0 && now - lastScan >= rescan {
                lastScan = now
                try offer(watcher.scan())
            }
            if !ready.isEmpty || watcher.hasUnsettled { lastActivity = now }
            if exitWhenIdle && now - lastActivity >= idleSeconds { break }
        }
    }
}

/// A flag set from a signal handler and read by a loop.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
