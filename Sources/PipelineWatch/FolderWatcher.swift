import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Watches a folder with inotify and says when files are ready to process.
///
/// A file is ready when its writer closes it (IN_CLOSE_WRITE), when it is moved or renamed
/// in (IN_MOVED_TO: the atomic-save pattern), or, for writers that keep it open, when its
/// size and modification time have not changed for `settleSeconds`. Names matching an
/// ignore pattern (temporary and hidden files by default) are never reported. An inotify
/// queue overflow triggers a full rescan, so no file is missed.
public final class FolderWatcher {
    public struct Configuration: Sendable {
        public var directory: String
        public var recursive = false
        /// Globs a file name must match (any of them).
        public var patterns = ["*"]
        /// Globs for names never reported (files) or entered (directories).
        public var ignore = FolderWatcher.defaultIgnore
        public var settleSeconds = 1.0

        public init(directory: String, recursive: Bool = false, patterns: [String] = ["*"],
            ignore: [String] = FolderWatcher.defaultIgnore, settleSeconds: Double = 1.0)
        {
            self.directory = directory
            self.recursive = recursive
            self.patterns = patterns
            self.ignore = ignore
            self.settleSeconds = settleSeconds
        }
    }

    /// Partial and hidden names: `*.part`, `.*` (also the ledger's `.pipeline`), `~*`,
    /// and common download/editor temporaries.
    public static let defaultIgnore = ["*.part", ".*", "~*", "*.tmp", "*.crdownload", "*.swp"]

    /// A file seen changing that has not been closed yet.
    private struct Candidate {
        var size: Int64
        var mtime: Double
        var lastChange: Double
    }

    public let configuration: Configuration
    private let fd: Int32
    private var watches: [Int32: String] = [:]
    private var candidates: [String: Candidate] = [:]
    private var ready: [String] = []
    private var needsRescan = false

    public init(_ configuration: Configuration) throws {
        self.configuration = configuration
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: configuration.directory, isDirectory: &isDirectory),
            isDirectory.boolValue
        else {
            throw WatchError.notADirectory(configuration.directory)
        }
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw WatchError.system("inotify_init1", String(cString: strerror(errno))) }
        try addWatch(configuration.directory)
        if configuration.recursive {
            for dir in subdirectories(of: configuration.directory) { try? addWatch(dir) }
        }
    }

    deinit { close(fd) }

    /// Every matching file now under the folder, sorted; files still settling included.
    public func scan() -> [String] {
        var files: [String] = []
        walk(configuration.directory, into: &files)
        return files.sorted()
    }

    /// True when some file is still being written (waiting to settle).
    public var hasUnsettled: Bool { !candidates.isEmpty }

    /// Waits up to `timeout` seconds for events; returns the files that became ready, in
    /// the order they did.
    public func poll(timeout: Double) -> [String] {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let wait = candidates.isEmpty ? timeout : min(timeout, configuration.settleSeconds / 4)
        if Glibc.poll(&pfd, 1, Int32(max(0, wait) * 1000)) > 0 { readEvents() }
        if needsRescan {
            needsRescan = false
            let now = Date().timeIntervalSince1970
            for path in scan() where candidates[path] == nil { track(path, now: now) }
        }
        settle()
        defer { ready.removeAll() }
        // Once only, and only files still there (a file deleted while open reports a close).
        var seen = Set<String>()
        return ready.filter { seen.insert($0).inserted && Self.fileStat($0) != nil }
    }

    /// Adds a file found by a scan: ready at once if it has not changed for the settle
    /// time, otherwise it waits to settle.
    public func consider(_ path: String) {
        guard let (size, mtime) = Self.fileStat(path) else { return }
        let now = Date().timeIntervalSince1970
        if now - mtime >= configuration.settleSeconds {
            ready.append(path)
        } else {
            candidates[path] = Candidate(size: size, mtime: mtime, lastChange: now)
        }
    }

    // MARK: Private

    private func addWatch(_ dir: String) throws {
        let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_MODIFY | IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR)
        let wd = inotify_add_watch(fd, dir, mask)
        guard wd >= 0 else { throw WatchError.system("inotify_add_watch \(dir)", String(cString: strerror(errno))) }
        watches[wd] = dir
    }

    private func readEvents() {
        let size = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer, size)
            if n <= 0 { break }
            var offset = 0
            while offset + MemoryLayout<inotify_event>.size <= n {
                let event = buffer.load(fromByteOffset: offset, as: inotify_event.self)
                let nameLength = Int(event.len)
                var name = ""
                if nameLength > 0 {
                    let namePointer = (buffer + offset + MemoryLayout<inotify_event>.size).assumingMemoryBound(to: CChar.self)
                    name = String(cString: namePointer)
                }
                handle(event, name: name)
                offset += MemoryLayout<inotify_event>.size + nameLength
            }
        }
    }

    private func handle(_ event: inotify_event, name: String) {
        let mask = Int32(bitPattern: event.mask)
        if mask & Int32(IN_Q_OVERFLOW) != 0 {
            needsRescan = true
            return
        }
        if mask & Int32(IN_IGNORED) != 0 {
            watches[event.wd] = nil
            return
        }
        guard let dir = watches[event.wd], !name.isEmpty, !isIgnored(name) else { return }
        let path = dir + "/" + name
        let isDir = mask & Int32(IN_ISDIR) != 0
        let now = Date().timeIntervalSince1970
        if isDir {
            if configuration.recursive && mask & Int32(IN_CREATE | IN_MOVED_TO) != 0 {
                try? addWatch(path)
                for sub in subdirectories(of: path) { try? addWatch(sub) }
                // Files may have landed before the watch existed.
                var files: [String] = []
                walk(path, into: &files)
                for file in files { track(file, now: now) }
            }
            return
        }
        guard matchesPatterns(name) else { return }
        if mask & Int32(IN_CLOSE_WRITE | IN_MOVED_TO) != 0 {
            candidates[path] = nil
            ready.append(path)
        } else if mask & Int32(IN_DELETE | IN_MOVED_FROM) != 0 {
            candidates[path] = nil
        } else if mask & Int32(IN_CREATE | IN_MODIFY) != 0 {
            track(path, now: now)
        }
    }

    private func track(_ path: String, now: Double) {
        guard let (size, mtime) = Self.fileStat(path) else { return }
        candidates[path] = Candidate(size: size, mtime: mtime, lastChange: now)
    }

    /// Promotes candidates whose size and mtime have held still for the settle time.
    private func settle() {
        guard !candidates.isEmpty else { return }
        let now = Date().timeIntervalSince1970
        for (path, candidate) in candidates {
            guard let (size, mtime) = Self.fileStat(path) else {
                candidates[path] = nil
                continue
            }
            if size != candidate.size || mtime != candidate.mtime {
                candidates[path] = Candidate(size: size, mtime: mtime, lastChange: now)
            } else if now - candidate.lastChange >= configuration.settleSeconds {
                candidates[path] = nil
                ready.append(path)
            }
        }
    }

    private func walk(_ dir: String, into files: inout [String]) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
        for name in names.sorted() where !isIgnored(name) {
            let path = dir + "/" + name
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { continue }
            if isDir.boolValue {
                if configuration.recursive { walk(path, into: &files) }
            } else if matchesPatterns(name) {
                files.append(path)
            }
        }
    }

    private func subdirectories(of dir: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
        var dirs: [String] = []
        for name in names.sorted() where !isIgnored(name) {
            let path = dir + "/" + name
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
                dirs.append(path)
                dirs += subdirectories(of: path)
            }
        }
        return dirs
    }

    func isIgnored(_ name: String) -> Bool {
        configuration.ignore.contains { fnmatch($0, name, 0) == 0 }
    }

    func matchesPatterns(_ name: String) -> Bool {
        configuration.patterns.contains { fnmatch($0, name, FNM_PERIOD) == 0 }
    }

    /// Size and modification time (seconds, fractional) of a regular file.
    public static func fileStat(_ path: String) -> (Int64, Double)? {
        var st = stat()
        guard systemStat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return (Int64(st.st_size), Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9)
    }
}

/// Errors of the watcher and ledger set-up.
public enum WatchError: Error, Sendable, CustomStringConvertible {
    case notADirectory(String)
    case system(String, String)
    case unsafeLayout(String)

    public var description: String {
        switch self {
        case .notADirectory(let dir): return "cannot watch \(dir): not a directory"
        case let .system(call, message): return "\(call): \(message)"
        case .unsafeLayout(let message): return message
        }
    }
}

/// stat(2); a free function so the call is not taken for the `stat` struct's initializer.
private func systemStat(_ path: String, _ st: inout stat) -> Int32 {
    stat(path, &st)
}
