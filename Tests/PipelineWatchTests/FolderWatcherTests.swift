import Foundation
import Testing

@testable import PipelineWatch

/// Polls until `condition` holds or `seconds` pass; returns every path reported meanwhile.
func collectReady(_ watcher: FolderWatcher, seconds: Double, until condition: ([String]) -> Bool = { _ in false }) -> [String] {
    var seen: [String] = []
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        seen += watcher.poll(timeout: 0.05)
        if condition(seen) { break }
    }
    return seen
}

/// Creates a file in place (Foundation's createFile writes a temporary and renames it,
/// which is a different event sequence).
func writeInPlace(_ path: String, _ text: String) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    precondition(fd >= 0, "cannot create \(path)")
    _ = text.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
    close(fd)
}

/// Opens a new file for writing without closing it.
func openInPlace(_ path: String) -> FileHandle {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    precondition(fd >= 0, "cannot create \(path)")
    return FileHandle(fileDescriptor: fd, closeOnDealloc: true)
}

@Suite("Folder watcher")
struct FolderWatcherTests {
    @Test("a file written and closed is ready at once")
    func closeWrite() throws {
        let dir = temporaryDirectory()
        let watcher = try FolderWatcher(.init(directory: dir, settleSeconds: 5))
        let start = Date()
        writeInPlace(dir + "/a.txt", "hello")
        let seen = collectReady(watcher, seconds: 2) { !$0.isEmpty }
        #expect(seen == [dir + "/a.txt"])
        #expect(Date().timeIntervalSince(start) < 1)
    }

    @Test("an atomic save (write a temporary, rename it in) is reported once, under its final name")
    func atomicRename() throws {
        let dir = temporaryDirectory()
        let watcher = try FolderWatcher(.init(directory: dir, settleSeconds: 0.3))
        writeInPlace(dir + "/.photo.jpg.tmp", "jpeg bytes")
        writeInPlace(dir + "/photo.jpg.part", "partial")
        try FileManager.default.moveItem(atPath: dir + "/.photo.jpg.tmp", toPath: dir + "/photo.jpg")
        let seen = collectReady(watcher, seconds: 1)
        #expect(seen == [dir + "/photo.jpg"])
    }

    @Test("a slow writer that keeps the file open is taken only after it holds still")
    func slowWriter() throws {
        let dir = temporaryDirectory()
        let path = dir + "/slow.bin"
        let watcher = try FolderWatcher(.init(directory: dir, settleSeconds: 0.4))
        let handle = openInPlace(path)
        var early: [String] = []
        for _ in 0..<6 {
            handle.write(Data(repeating: 2, count: 100))
            early += collectReady(watcher, seconds: 0.15)
        }
        #expect(!early.contains(path), "taken while still being written")
        let seen = collectReady(watcher, seconds: 2) { $0.contains(path) }
        #expect(seen.contains(path))
        try handle.close()
    }

    @Test("a file deleted before it settles is never reported")
    func deletedEarly() throws {
        let dir = temporaryDirectory()
        let watcher = try FolderWatcher(.init(directory: dir, settleSeconds: 0.3))
        let path = dir + "/gone.txt"
        let handle = openInPlace(path)
        handle.write(Data("x".utf8))
        _ = watcher.poll(timeout: 0.05)
        try FileManager.default.removeItem(atPath: path)
        try handle.close()
        #expect(collectReady(watcher, seconds: 0.8).isEmpty)
    }

    @Test("patterns, ignore rules and recursion")
    func filters() throws {
        let dir = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        let watcher = try FolderWatcher(.init(directory: dir, recursive: true, patterns: ["*.jpg"], settleSeconds: 0.2))
        for name in ["a.jpg", "b.png", "~c.jpg", ".d.jpg", "sub/e.jpg"] {
            writeInPlace(dir + "/" + name, "x")
        }
        try FileManager.default.createDirectory(atPath: dir + "/new", withIntermediateDirectories: true)
        writeInPlace(dir + "/new/f.jpg", "x")
        let seen = Set(collectReady(watcher, seconds: 1.5))
        #expect(seen == [dir + "/a.jpg", dir + "/sub/e.jpg", dir + "/new/f.jpg"])
        #expect(watcher.scan() == [dir + "/a.jpg", dir + "/new/f.jpg", dir + "/sub/e.jpg"])
    }
}
