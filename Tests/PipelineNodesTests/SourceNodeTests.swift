import Foundation
import PipelineCore
@testable import PipelineNodes
import Testing

@Suite("source.files")
struct FilesSourceTests {
    @Test("literal paths are emitted in order, each its own item")
    func literalPaths() throws {
        let tmp = try TempDir()
        let a = try tmp.file("a.txt"), b = try tmp.file("b.txt")
        let out = try NodeHarness(builtin("source.files"), options: ["paths": [.string(b), .string(a)]]).run()
        #expect(out.map(\.value) == [.string(b), .string(a)])
        #expect(out.map(\.item) == [b, a])
        #expect(out.allSatisfy { $0.port == "path" })
    }

    @Test("a single string is accepted as a one-element list")
    func singlePath() throws {
        let tmp = try TempDir()
        let a = try tmp.file("a.txt")
        let out = try NodeHarness(builtin("source.files"), options: ["paths": .string(a)]).run()
        #expect(out.map(\.item) == [a])
    }

    @Test("`*`, `?` and `[ab]` match within one directory, sorted, hidden files excluded")
    func globs() throws {
        let tmp = try TempDir()
        for name in ["b.txt", "a.txt", "c.md", ".hidden.txt", "x1.txt", "x2.txt", "sub/d.txt"] { try tmp.file(name) }
        func expand(_ pattern: String) throws -> [String] {
            try NodeHarness(builtin("source.files"), options: ["paths": .string(tmp.path + "/" + pattern)]).run()
                .map { String($0.item.dropFirst(tmp.path.count + 1)) }
        }
        #expect(try expand("*.txt") == ["a.txt", "b.txt", "x1.txt", "x2.txt"])
        #expect(try expand("x?.txt") == ["x1.txt", "x2.txt"])
        #expect(try expand("[ab].*") == ["a.txt", "b.txt"])
        #expect(try expand(".*.txt") == [".hidden.txt"])
        #expect(try expand("*/*.txt") == ["sub/d.txt"])
    }

    @Test("`**` matches any number of directories, including none")
    func doubleStar() throws {
        let tmp = try TempDir()
        for name in ["top.txt", "a/one.txt", "a/b/two.txt", "a/b/c/three.txt", "a/skip.md", ".git/hidden.txt"] {
            try tmp.file(name)
        }
        let out = try NodeHarness(builtin("source.files"), options: ["paths": .string(tmp.path + "/**/*.txt")]).run()
        #expect(out.map { String($0.item.dropFirst(tmp.path.count + 1)) } == [
            "a/b/c/three.txt", "a/b/two.txt", "a/one.txt", "top.txt",
        ])
        let under = try NodeHarness(builtin("source.files"), options: ["paths": .string(tmp.path + "/a/**/t*.txt")]).run()
        #expect(under.map { String($0.item.dropFirst(tmp.path.count + 1)) } == ["a/b/c/three.txt", "a/b/two.txt"])
    }

    @Test("a missing literal path fails its item by default, and the others go on")
    func missingFails() throws {
        let tmp = try TempDir()
        let a = try tmp.file("a.txt")
        let missing = tmp.path + "/nope.txt"
        let node = try NodeHarness(builtin("source.files"), options: ["paths": [.string(missing), .string(a)]])
        let out = try node.run()
        #expect(out.map(\.item) == [a])
        #expect(node.failures.map(\.item) == [missing])
        #expect(node.failures.first?.message == "no such file: \(missing)")
    }

    @Test("`missing: skip` skips a missing path with a warning")
    func missingSkips() throws {
        let tmp = try TempDir()
        let warnings = Warnings()
        let missing = tmp.path + "/nope.txt"
        let node = try NodeHarness(
            builtin("source.files"), options: ["paths": .string(missing), "missing": "skip"], context: warnings.context)
        #expect(try node.run().isEmpty)
        #expect(node.failures.isEmpty)
        #expect(warnings.all == ["no such file: \(missing)"])
    }

    @Test("a pattern that matches nothing warns")
    func emptyPatternWarns() throws {
        let tmp = try TempDir()
        let warnings = Warnings()
        let node = try NodeHarness(
            builtin("source.files"), options: ["paths": .string(tmp.path + "/*.jpg")], context: warnings.context)
        #expect(try node.run().isEmpty)
        #expect(warnings.all == ["pattern '\(tmp.path)/*.jpg' matched no files"])
    }

    @Test("`paths` is required and `missing` is checked")
    func schema() {
        #expect(throws: NodeHarness.InvalidOptions.self) { try NodeHarness(builtin("source.files")) }
        #expect(throws: NodeHarness.InvalidOptions.self) {
            try NodeHarness(builtin("source.files"), options: ["paths": "a", "missing": "ignore"])
        }
    }
}

@Suite("source.folder")
struct FolderSourceTests {
    /// A folder with files of several kinds, a hidden file and a nested directory.
    func folder() throws -> TempDir {
        let tmp = try TempDir()
        for name in ["b.txt", "a.TXT", "c.md", "d.jpg", ".hidden.txt", "sub/e.txt", "sub/deeper/f.md", "sub/.g.txt"] {
            try tmp.file("in/" + name)
        }
        return tmp
    }

    func list(_ tmp: TempDir, _ options: [String: Value] = [:]) throws -> [String] {
        var all = options
        all["dir"] = .string(tmp.path + "/in")
        return try NodeHarness(builtin("source.folder"), options: all).run().map {
            #expect($0.value == .string($0.item))
            return String($0.item.dropFirst(tmp.path.count + 4))
        }
    }

    @Test("lists the files of a directory, sorted, without hidden ones or subdirectories")
    func plain() throws {
        let tmp = try folder()
        #expect(try list(tmp) == ["a.TXT", "b.txt", "c.md", "d.jpg"])
    }

    @Test("`hidden: true` includes dot files")
    func hidden() throws {
        let tmp = try folder()
        #expect(try list(tmp, ["hidden": true]) == [".hidden.txt", "a.TXT", "b.txt", "c.md", "d.jpg"])
    }

    @Test("`extensions` filters case-insensitively, with or without the dot")
    func extensions() throws {
        let tmp = try folder()
        #expect(try list(tmp, ["extensions": ["txt"]]) == ["a.TXT", "b.txt"])
        #expect(try list(tmp, ["extensions": [".MD", "jpg"]]) == ["c.md", "d.jpg"])
        #expect(try list(tmp, ["extensions": "md"]) == ["c.md"])
    }

    @Test("`pattern` globs the file name")
    func pattern() throws {
        let tmp = try folder()
        #expect(try list(tmp, ["pattern": "[bc].*"]) == ["b.txt", "c.md"])
    }

    @Test("`recursive` descends into subdirectories; filters still apply")
    func recursive() throws {
        let tmp = try folder()
        #expect(try list(tmp, ["recursive": true]) == ["a.TXT", "b.txt", "c.md", "d.jpg", "sub/deeper/f.md", "sub/e.txt"])
        #expect(try list(tmp, ["recursive": true, "extensions": ["md"]]) == ["c.md", "sub/deeper/f.md"])
    }

    @Test("`limit` caps how many files are emitted")
    func limit() throws {
        let tmp = try folder()
        #expect(try list(tmp, ["limit": 2]) == ["a.TXT", "b.txt"])
        #expect(try list(tmp, ["limit": 0]).count == 4)
        #expect(throws: NodeHarness.InvalidOptions.self) {
            try NodeHarness(builtin("source.folder"), options: ["dir": "x", "limit": -1])
        }
    }

    @Test("a missing directory or a file instead of one is an error")
    func notADirectory() throws {
        let tmp = try folder()
        let missing = try NodeHarness(builtin("source.folder"), options: ["dir": .string(tmp.path + "/nope")])
        #expect(throws: NodeError.self) { try missing.run() }
        let file = try NodeHarness(builtin("source.folder"), options: ["dir": .string(tmp.path + "/in/b.txt")])
        let error = try #require(throws: NodeError.self) { try file.run() }
        #expect(error.message.hasPrefix("not a directory"))
    }
}

@Suite("gen.sequence")
struct SequenceSourceTests {
    @Test("emits count integers from start by step, one item each")
    func sequence() throws {
        let out = try NodeHarness(builtin("gen.sequence"), options: ["count": 3, "start": 10, "step": 5, "prefix": "k"]).run()
        #expect(out.map(\.value) == [10, 15, 20])
        #expect(out.map(\.item) == ["k0", "k1", "k2"])
        #expect(out.allSatisfy { $0.port == "value" && $0.sequence == 0 })
    }

    @Test("defaults: start 0, step 1, prefix n; count 0 emits nothing")
    func defaults() throws {
        let out = try NodeHarness(builtin("gen.sequence"), options: ["count": 2]).run()
        #expect(out.map(\.value) == [0, 1])
        #expect(out.map(\.item) == ["n0", "n1"])
        #expect(try NodeHarness(builtin("gen.sequence"), options: ["count": 0]).run().isEmpty)
    }

    @Test("a stopping run ends the sequence")
    func stopping() throws {
        let node = try NodeHarness(builtin("gen.sequence"), options: ["count": 5])
        node.stopping = true
        #expect(throws: RunStopping.self) { try node.run() }
    }

    @Test("item ids are PREFIX + the index, as String(index) writes it (its own formatting)")
    func itemIDs() throws {
        let out = try NodeHarness(builtin("gen.sequence"), options: ["count": .int(12), "prefix": .string("frame-")]).run()
        #expect(out.map(\.item) == (0..<12).map { "frame-\($0)" })
        #expect(out.map(\.value) == (0..<12).map { .int($0) })
        let empty = try NodeHarness(builtin("gen.sequence"), options: ["count": .int(3), "prefix": .string("")]).run()
        #expect(empty.map(\.item) == ["0", "1", "2"])
        for n in [0, 9, 10, 99, 100, 12345, 1 << 40, Int.max, -1, -10, Int.min] {
            #expect(SequenceSource.id(Array("n".utf8), n) == "n" + String(n))
        }
    }
}
