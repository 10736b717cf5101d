import ArgumentParser
import Foundation
import PipelineCore
import PipelineWatch

/// `pipeline enqueue FILE --queue URL PATHS…`: batch producers for `pipeline worker`.
struct EnqueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enqueue",
        abstract: "Put files on a shared PostgreSQL queue for `pipeline worker`.",
        discussion: """
            Each file is enqueued once per content (path + SHA-256): enqueueing it again is a
            no-op unless it changed. Folders are walked recursively with the source.watch node's
            patterns. Every path must lie under the shared root (--root, default the source.watch
            node's dir); the queue stores it relative to the root.
            """)

    @Argument(help: "The pipeline file (one source.watch node).") var file: String
    @Argument(help: "Files or folders to enqueue.") var paths: [String]
    @OptionGroup var options: QueueOptions
    @OptionGroup var params: ParamOverrides

    func run() throws {
        let binding = try QueueBinding.load(file, options, overrides: try params.pairs())
        let patterns = binding.watchNode.options.strings("patterns") ?? ["*"]
        let ignore = binding.watchNode.options.strings("ignore") ?? FolderWatcher.defaultIgnore
        var versions: [WorkQueue.Version] = []
        for given in paths {
            for path in try Self.files(given, patterns: patterns, ignore: ignore) {
                versions.append(try Self.version(of: path, root: binding.root))
            }
        }
        let queue = try binding.open(try options.url(), file: file)
        let added = try queue.enqueue(versions)
        print("enqueued \(added) of \(versions.count) file\(versions.count == 1 ? "" : "s") on queue \(queue.name)"
            + (versions.count > added ? " (\(versions.count - added) already there)" : ""))
    }

    /// A file's queue record, or exit 2 when it is outside the root or unreadable.
    static func version(of path: String, root: String) throws -> WorkQueue.Version {
        let absolute = URL(fileURLWithPath: WatchLayout.absolute(path)).resolvingSymlinksInPath().path
        guard WatchLayout.isInside(absolute, root), absolute != root else {
            Terminal.error("\(QueueError.outsideRoot(path: path, root: root))")
            throw Exit.invalid
        }
        guard let (size, mtime) = FolderWatcher.fileStat(absolute) else {
            Terminal.error("\(path): no such file")
            throw Exit.invalid
        }
        do {
            return WorkQueue.Version(
                path: String(absolute.dropFirst(root.count + 1)), size: size, mtime: mtime, hash: try SHA256.file(absolute))
        } catch {
            Terminal.error("\(path): cannot read: \(error)")
            throw Exit.invalid
        }
    }

    /// `path` itself, or the matching files under it when it is a folder, sorted.
    static func files(_ path: String, patterns: [String], ignore: [String]) throws -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            Terminal.error("\(path): no such file or folder")
            throw Exit.invalid
        }
        guard isDir.boolValue else { return [path] }
        let watcher = try FolderWatcher(
            FolderWatcher.Configuration(directory: path, recursive: true, patterns: patterns, ignore: ignore, settleSeconds: 0))
        return watcher.scan().sorted()
    }
}
