import Foundation
import PipelineCore
import PipelineNodes
import Testing

@Suite("sink.jsonl")
struct JSONLSinkTests {
    @Test("with the envelope, each line is {item, sequence, timestamp, value}")
    func envelope() throws {
        let tmp = try TempDir()
        let node = try NodeHarness(builtin("sink.jsonl"), options: ["path": .string(tmp.path + "/out/records.jsonl")])
        #expect(try node.process(.object(["n": 1]), item: "a.txt", sequence: 0, timestamp: 1.5).isEmpty)
        _ = try node.process("two", item: "b.txt", sequence: 3)
        _ = try node.finish()
        let lines = try #require(tmp.read("out/records.jsonl")).split(separator: "\n")
        #expect(lines.count == 2)
        let first = try #require(parseJSON(lines[0]))
        #expect(first["item"] as? String == "a.txt")
        #expect(first["sequence"] as? Int == 0)
        #expect(first["timestamp"] as? Double == 1.5)
        #expect((first["value"] as? [String: Any])?["n"] as? Int == 1)
        let second = try #require(parseJSON(lines[1]))
        #expect(second["value"] as? String == "two")
        #expect(second["sequence"] as? Int == 3)
        #expect(second["timestamp"] == nil)
    }

    @Test("without the envelope, each line is the bare value")
    func bare() throws {
        let tmp = try TempDir()
        let node = try NodeHarness(builtin("sink.jsonl"), options: ["path": .string(tmp.path + "/o.jsonl"), "envelope": false])
        _ = try node.process(.object(["k": "v"]))
        _ = try node.process(42)
        _ = try node.process("text")
        _ = try node.finish()
        #expect(tmp.read("o.jsonl") == "{\"k\":\"v\"}\n42\n\"text\"\n")
    }

    @Test("the file appears atomically at finish: nothing before, no temporary left after")
    func atomic() throws {
        let tmp = try TempDir()
        try tmp.file("o.jsonl", "old contents\n")
        let node = try NodeHarness(builtin("sink.jsonl"), options: ["path": .string(tmp.path + "/o.jsonl"), "envelope": false])
        for i in 0..<100 { _ = try node.process(.int(i)) }
        #expect(tmp.read("o.jsonl") == "old contents\n")
        _ = try node.finish()
        #expect(tmp.read("o.jsonl") == (0..<100).map { "\($0)\n" }.joined())
        #expect(tmp.list() == ["o.jsonl"])
    }

    @Test("a fresh file does not exist until finish")
    func noFileUntilFinish() throws {
        let tmp = try TempDir()
        let node = try NodeHarness(builtin("sink.jsonl"), options: ["path": .string(tmp.path + "/new.jsonl")])
        _ = try node.process(1)
        #expect(!tmp.exists("new.jsonl"))
        _ = try node.finish()
        #expect(tmp.exists("new.jsonl"))
    }

    @Test("`append: true` adds lines to an existing file as they come")
    func append() throws {
        let tmp = try TempDir()
        try tmp.file("log.jsonl", "0\n")
        for run in 1...2 {
            let node = try NodeHarness(
                builtin("sink.jsonl"), options: ["path": .string(tmp.path + "/log.jsonl"), "envelope": false, "append": true])
            _ = try node.process(.int(run))
            #expect(tmp.read("log.jsonl")?.hasSuffix("\(run)\n") == true)
            _ = try node.finish()
        }
        #expect(tmp.read("log.jsonl") == "0\n1\n2\n")
        #expect(tmp.list() == ["log.jsonl"])
    }

    @Test("`append: true` creates a missing file and its directories")
    func appendCreates() throws {
        let tmp = try TempDir()
        let node = try NodeHarness(
            builtin("sink.jsonl"), options: ["path": .string(tmp.path + "/a/b/log.jsonl"), "append": true, "envelope": false])
        _ = try node.process("x")
        _ = try node.finish()
        #expect(tmp.read("a/b/log.jsonl") == "\"x\"\n")
    }
}

@Suite("sink.files")
struct FilesSinkTests {
    @Test("the name template expands {name} {stem} {ext} {seq} {item}")
    func templates() throws {
        let tmp = try TempDir()
        let cases: [(template: String, expected: String)] = [
            ("{name}", "photo.jpg"), ("{stem}.txt", "photo.txt"), ("{stem}-{seq}.{ext}", "photo-7.jpg"),
            ("{item}.out", "in_photos_photo.jpg.out"),
        ]
        for (template, expected) in cases {
            let node = try NodeHarness(builtin("sink.files"), options: ["dir": .string(tmp.path + "/out"), "name": .string(template)])
            let out = try node.process("hello", item: "in/photos/photo.jpg", sequence: 7)
            #expect(out.map(\.value) == [.string(tmp.path + "/out/" + expected)], "\(template)")
            #expect(out.first?.port == "path")
            #expect(tmp.read("out/" + expected) == "hello")
        }
    }

    @Test("text and bytes are written as they are, other values as pretty JSON")
    func contents() throws {
        let tmp = try TempDir()
        let node = try NodeHarness(builtin("sink.files"), options: ["dir": .string(tmp.path), "name": "{item}"])
        _ = try node.process("plain", item: "text")
        _ = try node.process(.bytes(Data([0, 1, 255])), item: "bytes")
        _ = try node.process(.object(["a": [1, 2]]), item: "json")
        #expect(tmp.read("text") == "plain")
        #expect(FileManager.default.contents(atPath: tmp.path + "/bytes") == Data([0, 1, 255]))
        let json = try #require(tmp.read("json"))
        #expect(json.hasSuffix("\n") && json.contains("\n  "))
        #expect((parseJSON(json)?["a"] as? [Int]) == [1, 2])
    }

    @Test("`overwrite: false` fails the item when the file exists")
    func noOverwrite() throws {
        let tmp = try TempDir()
        try tmp.file("a.txt", "keep")
        let node = try NodeHarness(builtin("sink.files"), options: ["dir": .string(tmp.path), "overwrite": false])
        #expect(throws: NodeError.self) { try node.process("new", item: "a.md") }
        #expect(tmp.read("a.txt") == "keep")
        _ = try node.process("new", item: "b.md")
        #expect(tmp.read("b.txt") == "new")
        let replacing = try NodeHarness(builtin("sink.files"), options: ["dir": .string(tmp.path)])
        _ = try replacing.process("replaced", item: "a.md")
        #expect(tmp.read("a.txt") == "replaced")
    }

    @Test("a template that makes an empty or nested name fails the item")
    func badNames() throws {
        let tmp = try TempDir()
        for template in ["{ext}", "sub/{stem}", ".."] {
            let node = try NodeHarness(builtin("sink.files"), options: ["dir": .string(tmp.path), "name": .string(template)])
            #expect(throws: NodeError.self, "\(template)") { try node.process("x", item: "noext") }
        }
        #expect(tmp.list().isEmpty)
    }
}
