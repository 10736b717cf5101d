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

    /// Opens a temporary file beside `path`, creating parent directories. The temporary's
    /// name carries `host` (this machine, `AtomicFile.thisHost`) and this process's PID, so
    /// that a sweep on any machine sharing the folder can tell whose it is.
    public init(path: String, host: String = AtomicFile.thisHost) throws {
        self.path = path
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        temporaryPath = dir + "/" + Self.temporaryPrefix + url.lastPathComponent + "-" + host + "-" + String(getpid()) + "-"
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
    /// This machine in temporary names: `h` and 12 hex digits hashing the machine id
    /// (`/etc/machine-id`), the host name and the PID namespace. Two processes with the same
    /// value can check each other's PIDs with `kill(pid, 0)`; containers on one kernel (one
    /// machine id, separate PID namespaces) and separate machines get different values.
    public static let thisHost: String = {
        var text = (try? String(contentsOfFile: "/etc/machine-id", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        var name = [CChar](repeating: 0, count: 256)
        if gethostname(&name, name.count - 1) == 0 {
            text += "/" + String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        var link = [CChar](repeating: 0, count: 256)
        let n = readlink("/proc/self/ns/pid", &link, link.count - 1)
        if n > 0 { text += "/" + String(decoding: link[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        return hostTag(text)
    }()

    /// The host tag of an identity text (FNV-1a, 48 bits): `h` and 12 lower-case hex digits.
    public static func hostTag(_ identity: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in identity.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        let digits = String(hash & 0xFFFF_FFFF_FFFF, radix: 16)
        return "h" + String(repeating: "0", count: 12 - digits.count) + digits
    }

    /// How old (by modification time) another machine's temporary must be before a sweep
    /// here removes it: its PID cannot be checked from this machine, so only age tells that
    /// its writer is gone. A day: far longer than any one file takes to write.
    public static let foreignTemporaryAge: Double = 24 * 3600

    /// Removes temporaries left in `directory` by processes that no longer run (a crash or
    /// SIGKILL between write and rename). Returns the paths removed.
    ///
    /// A temporary of this host (`host`) is removed when the PID in its name is not alive.
    /// A temporary another machine wrote (several machines publishing into one shared folder)
    /// is left alone unless it has not been modified for `foreignAge` seconds: a live PID
    /// there means nothing here. Names from before host tags (no tag) count as this host's.
    @discardableResult
    public static func removeStaleTemporaries(
        in directory: String, host: String = AtomicFile.thisHost, foreignAge: Double = AtomicFile.foreignTemporaryAge,
        now: Double = Date().timeIntervalSince1970
    ) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.isEmpty ? "." : directory)
        else { return [] }
        var removed: [String] = []
        for name in names where name.hasPrefix(temporaryPrefix) {
            let parts = name.split(separator: "-")
            guard parts.count >= 2, let pid = Int32(parts[parts.count - 2]) else { continue }
            let path = (directory as NSString).appendingPathComponent(name)
            let tag = parts.count >= 3 ? String(parts[parts.count - 3]) : ""
            if isHostTag(tag) && tag != host {
                var st = stat()
                guard lstat(path, &st) == 0 else { continue }
                let modified = Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
                if now - modified < foreignAge { continue }
            } else {
                if pid == getpid() { continue }
                if kill(pid, 0) == 0 || errno == EPERM { continue }  // still alive
            }
            if unlink(path) == 0 { removed.append(path) }
        }
        return removed
    }

    /// Whether `text` has the form of a host tag (`h` and 12 hex digits).
    static func isHostTag(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.count == 13 && bytes[0] == UInt8(ascii: "h")
            && bytes[1...].allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
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
