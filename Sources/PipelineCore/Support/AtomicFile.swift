import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Writes a file so that readers see either nothing or the whole file: data goes to a
/// temporary name in the same directory, is fsynced, then renamed into place, and the
/// directory is fsynced so the rename survives a crash.
public final class AtomicFile {
    public let path: String
    public let temporaryPath: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private var committed = false

    /// Prefix of temporary names; anything starting with it is a leftover from a crash.
    public static let temporaryPrefix = ".pipeline-tmp-"

    /// Opens a temporary file beside `path`, creating parent directories.
    public init(path: String) throws {
        self.path = path
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        temporaryPath = dir + "/" + Self.temporaryPrefix + url.lastPathComponent + "-" + String(getpid()) + "-"
            + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd < 0 { throw POSIXFailure(operation: "create", path: temporaryPath) }
    }

    deinit {
        if !committed { discard() }
    }

    public func write(_ bytes: some Sequence<UInt8>) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 16 { try flushBuffer() }
    }

    public func write(_ text: String) throws { try write(text.utf8) }

    /// Flushes, fsyncs and renames into place.
    public func commit() throws {
        try flushBuffer()
        if fsync(fd) != 0 { throw POSIXFailure(operation: "fsync", path: temporaryPath) }
        close(fd)
        fd = -1
        if rename(temporaryPath, path) != 0 { throw POSIXFailure(operation: "rename into", path: path) }
        committed = true
        let dir = (path as NSString).deletingLastPathComponent
        let dirFD = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            fsync(dirFD)
            close(dirFD)
        }
    }

    /// Removes the temporary file without publishing anything.
    public func discard() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        unlink(temporaryPath)
    }

    private func flushBuffer() throws {
        var offset = 0
        while offset < buffer.count {
            let n = buffer[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw POSIXFailure(operation: "write", path: temporaryPath)
            }
            offset += n
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes `data` to `path` atomically in one call.
    public static func write(_ data: some Sequence<UInt8>, to path: String) throws {
        let file = try AtomicFile(path: path)
        try file.write(data)
        try file.commit()
    }
}

/// A failed system call, with errno's message.
public struct POSIXFailure: Error, Sendable, CustomStringConvertible {
    public let operation: String
    public let path: String
    public let code: Int32

    public init(operation: String, path: String, code: Int32 = errno) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    public var description: String { "cannot \(operation) \(path): \(String(cString: strerror(code)))" }
}

extension AtomicFile {
    /// Removes temporaries left in `directory` by processes that no longer run (a crash or
    /// SIGKILL between write and rename). Returns the paths removed.
    @discardableResult
    public static func removeStaleTemporaries(in directory: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.isEmpty ? "." : directory)
        else { return [] }
        var removed: [String] = []
        for name in names where name.hasPrefix(temporaryPrefix) {
            let parts = name.split(separator: "-")
            guard parts.count >= 2, let pid = Int32(parts[parts.count - 2]) else { continue }
            if pid == getpid() { continue }
            if kill(pid, 0) == 0 || errno == EPERM { continue }  // still alive
            let path = (directory as NSString).appendingPathComponent(name)
            if unlink(path) == 0 { removed.append(path) }
        }
        return removed
    }
}

/// A node type that publishes files: before a run, the engine removes stale temporaries
/// (from a killed earlier run) where it writes, and `watch` checks that its outputs do not
/// land in the watched folder.
public protocol FilePublisher {
    /// What the node publishes: folders it fills (`isDirectory`) or single files.
    static func publishedPaths(_ options: Options) -> [(path: String, isDirectory: Bool)]
    /// What `pipeline watch` guarantees for these outputs across crashes (`pipeline describe`
    /// prints it).
    static var watchGuarantee: String { get }
    /// Why these options cannot run under `pipeline watch`, with what to do instead; nil
    /// when they can.
    static func watchProblem(_ options: Options) -> String?
}

extension FilePublisher {
    /// Per-item files: each is written under a temporary name, fsynced and renamed before
    /// the ledger marks its item done.
    public static var watchGuarantee: String {
        "exactly once per item: each file is written under a temporary name, fsynced and renamed "
            + "before the ledger marks the item done; an item a crash interrupted is redone and its files replaced"
    }

    public static func watchProblem(_ options: Options) -> String? { nil }

    /// Directories where the node's temporaries live.
    public static func temporaryDirectories(_ options: Options) -> [String] {
        publishedPaths(options).map { $0.isDirectory ? $0.path : ($0.path as NSString).deletingLastPathComponent }
    }
}
