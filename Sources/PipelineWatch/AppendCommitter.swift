import Foundation
import PipelineCore

#if canImport(Glibc)
import Glibc
#endif

/// Writes the bytes items staged for shared files (`StagedAppend`: an appending `sink.jsonl`)
/// and marks each item done in the ledger with the files' new committed lengths, so every
/// item's bytes land exactly once across crashes.
///
/// Commits are serialized. For each file an item appends to, the bytes are written at the
/// file's committed length (cutting anything after it), fsynced, and only then is the item
/// marked done with the new length, in one ledger transaction. A crash between the two
/// leaves bytes past the committed length, which `recover()` cuts off before the next run
/// takes the item again; a crash after leaves the item done and its bytes committed. Before a
/// file's first commit its length is recorded as the baseline, so bytes already there stay.
final class AppendCommitter: @unchecked Sendable {
    private let ledger: any ItemLedger
    private let lock = NSLock()

    init(ledger: any ItemLedger) {
        self.ledger = ledger
    }

    /// Cuts every shared file back to its committed length; returns a note per file changed.
    func recover() throws -> [String] {
        lock.lock()
        defer { lock.unlock() }
        var notes: [String] = []
        for (path, committed) in try ledger.appendedFiles() {
            guard let size = Self.size(of: path) else { continue }
            if size > committed {
                guard truncate(path, off_t(committed)) == 0 else {
                    throw WatchCommitError(path: path, operation: "truncate", errno: errno)
                }
                notes.append("\(path): cut \(size - committed) bytes a previous run appended for items it did not finish")
            } else if size < committed {
                notes.append("\(path) is \(committed - size) bytes shorter than its committed length: was it edited?")
            }
        }
        return notes
    }

    /// Appends the item's staged bytes, then marks it done (id `id`) with `outputs`.
    func commit(id: Int64, outputs: [String], appends: [StagedAppend]) throws {
        lock.lock()
        defer { lock.unlock() }
        var lengths: [String: Int64] = [:]
        for append in appends {
            let start: Int64
            if let known = lengths[append.path] {
                start = known
            } else if let committed = try ledger.committedLength(of: append.path) {
                start = committed
            } else {
                start = Self.size(of: append.path) ?? 0
                try ledger.recordBaseline(of: append.path, length: start)
            }
            try Self.write(append.bytes, to: append.path, at: start)
            lengths[append.path] = start + Int64(append.bytes.count)
        }
        try ledger.markDone(id, outputs: outputs, appended: lengths)
    }

    /// Writes `bytes` at `offset` of `path` (created with its folders if missing), cuts the
    /// file there, and fsyncs it.
    private static func write(_ bytes: [UInt8], to path: String, at offset: Int64) throws {
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw WatchCommitError(path: path, operation: "open", errno: errno) }
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, $0.count - done, off_t(offset) + off_t(done)) }
            guard n > 0 else { throw WatchCommitError(path: path, operation: "write", errno: errno) }
            done += n
        }
        guard ftruncate(fd, off_t(offset) + off_t(bytes.count)) == 0 else {
            throw WatchCommitError(path: path, operation: "truncate", errno: errno)
        }
        guard fsync(fd) == 0 else { throw WatchCommitError(path: path, operation: "fsync", errno: errno) }
    }

    private static func size(of path: String) -> Int64? {
        var st = stat()
        return stat(path, &st) == 0 ? Int64(st.st_size) : nil
    }
}

/// A shared file the committer could not write: the item stays unfinished and is retried.
struct WatchCommitError: Error, CustomStringConvertible {
    let path: String
    let operation: String
    let errno: Int32
    var description: String { "\(path): \(operation) failed: \(String(cString: strerror(errno)))" }
}
