import Foundation
import PipelineCore
import Testing

/// Stale-temporary sweeps with several machines on one folder: each sweeps only its own
/// dead writers' temporaries, and another machine's only once they are a day old.
@Suite("AtomicFile temporaries")
struct AtomicFileTests {
    /// Two machines sharing a folder, as their host tags.
    let hostA = AtomicFile.hostTag("machine-id-a/host-a/pid:[4026531836]")
    let hostB = AtomicFile.hostTag("machine-id-b/host-b/pid:[4026531836]")

    func folder() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("atomic-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A PID no process has here now (a child that has exited and been reaped).
    func deadPID() throws -> Int32 {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        return child.processIdentifier
    }

    /// Creates a temporary by name, as a writer on `host` with `pid` would have.
    func temporary(_ dir: String, _ file: String, host: String?, pid: Int32, age: Double = 0) throws -> String {
        let tag = host.map { "-" + $0 } ?? ""
        let path = "\(dir)/\(AtomicFile.temporaryPrefix)\(file)\(tag)-\(pid)-abc12"
        try Data("partial".utf8).write(to: URL(fileURLWithPath: path))
        if age > 0 {
            try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-age)], ofItemAtPath: path)
        }
        return path
    }

    @Test("this machine's tag: h and 12 hex digits, stable, different per identity")
    func hostTags() {
        #expect(AtomicFile.thisHost.count == 13 && AtomicFile.thisHost.hasPrefix("h"))
        #expect(AtomicFile.thisHost == AtomicFile.thisHost)
        #expect(hostA != hostB)
        #expect(AtomicFile.hostTag("x") == AtomicFile.hostTag("x"))
    }

    @Test("a temporary's name carries its host and PID")
    func names() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = try AtomicFile(path: dir + "/out-1.json", host: hostA)
        #expect(URL(fileURLWithPath: file.temporaryPath).lastPathComponent.hasPrefix(
            "\(AtomicFile.temporaryPrefix)out-1.json-\(hostA)-\(getpid())-"))
        try file.write("{}")
        try file.commit()
        #expect(try String(contentsOfFile: dir + "/out-1.json", encoding: .utf8) == "{}")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["out-1.json"])
    }

    @Test("another machine's sweep leaves a writer's temporary alone, whatever its PID looks like there")
    func otherHostSweep() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Two writers on A: this process, and one whose PID no process has on B.
        let live = try AtomicFile(path: dir + "/live.txt", host: hostA)
        try live.write("whole")
        let running = try temporary(dir, "running.txt", host: hostA, pid: try deadPID())
        // B starts a run on the folder: before host tags it removed `running`, whose rename
        // on A then failed.
        #expect(AtomicFile.removeStaleTemporaries(in: dir, host: hostB).isEmpty)
        #expect(FileManager.default.fileExists(atPath: running))
        try live.commit()
        #expect(try String(contentsOfFile: dir + "/live.txt", encoding: .utf8) == "whole")
    }

    @Test("a sweep removes its own host's dead writers' temporaries, and another host's only when a day old")
    func ownHostSweep() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let dead = try deadPID()
        let live = try AtomicFile(path: dir + "/live.txt", host: hostA)
        let aDead = try temporary(dir, "a-dead.txt", host: hostA, pid: dead)
        let bRecent = try temporary(dir, "b-recent.txt", host: hostB, pid: dead, age: 3600)
        let bOld = try temporary(dir, "b-old.txt", host: hostB, pid: dead, age: AtomicFile.foreignTemporaryAge + 60)
        let bOldAliveHere = try temporary(dir, "b-old-alive.txt", host: hostB, pid: getpid(), age: AtomicFile.foreignTemporaryAge + 60)
        // Names from before host tags: judged by the PID alone, as this machine's.
        let legacyDead = try temporary(dir, "legacy-dead.txt", host: nil, pid: dead)
        let legacyLive = try temporary(dir, "legacy-live.txt", host: nil, pid: 1)

        let removed = Set(AtomicFile.removeStaleTemporaries(in: dir, host: hostA))
        #expect(removed == [aDead, bOld, bOldAliveHere, legacyDead])
        for kept in [live.temporaryPath, bRecent, legacyLive] {
            #expect(FileManager.default.fileExists(atPath: kept), "\(kept)")
        }
        live.discard()
    }
}
