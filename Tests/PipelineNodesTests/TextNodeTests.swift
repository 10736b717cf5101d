import Foundation
import PipelineCore
import PipelineNodes
import Testing

@Suite("text.read")
struct TextReadTests {
    @Test("reads a UTF-8 file")
    func reads() throws {
        let tmp = try TempDir()
        let path = try tmp.file("a.txt", "héllo\nwörld\n")
        let out = try NodeHarness(builtin("text.read")).process(.string(path), item: path)
        #expect(out.map(\.value) == ["héllo\nwörld\n"])
        #expect(out.first?.port == "text" && out.first?.item == path)
    }

    @Test("bytes that are not UTF-8 fail the item, or become U+FFFD with `invalid_utf8: replace`")
    func notUTF8() throws {
        let tmp = try TempDir()
        let path = try tmp.file("bin.dat", bytes: [0x61, 0xFF, 0x62])
        let error = try #require(throws: NodeError.self) { try NodeHarness(builtin("text.read")).process(.string(path)) }
        #expect(error.message == "\(path) is not valid UTF-8 text")
        let out = try NodeHarness(builtin("text.read"), options: ["invalid_utf8": "replace"]).process(.string(path))
        #expect(out.map(\.value) == ["a\u{FFFD}b"])
    }

    @Test("a file over `max_bytes` fails the item")
    func tooBig() throws {
        let tmp = try TempDir()
        let path = try tmp.file("big.txt", "0123456789")
        let error = try #require(throws: NodeError.self) {
            try NodeHarness(builtin("text.read"), options: ["max_bytes": 4]).process(.string(path))
        }
        #expect(error.message == "\(path) is 10 bytes, over max_bytes 4")
        #expect(try NodeHarness(builtin("text.read"), options: ["max_bytes": 10]).process(.string(path)).count == 1)
    }

    @Test("a directory, a missing file or a non-path value fails the item")
    func notAFile() throws {
        let tmp = try TempDir()
        let node = try NodeHarness(builtin("text.read"))
        let dir = try #require(throws: NodeError.self) { try node.process(.string(tmp.path)) }
        #expect(dir.message == "\(tmp.path) is a directory")
        let missing = try #require(throws: NodeError.self) { try node.process(.string(tmp.path + "/nope")) }
        #expect(missing.message == "cannot read \(tmp.path)/nope: no such file")
        #expect(throws: NodeError.self) { try node.process(3) }
    }
}

@Suite("text.split")
struct TextSplitTests {
    func split(_ text: String, _ options: [String: Value] = [:]) throws -> [NodeHarness.Emitted] {
        try NodeHarness(builtin("text.split"), options: options).process(.string(text), item: "doc")
    }

    @Test("lines: empty lines skipped, pieces numbered 0, 1, ...")
    func lines() throws {
        let out = try split("one\ntwo\n\n  \nthree\n")
        #expect(out.map(\.value) == ["one", "two", "three"])
        #expect(out.map(\.sequence) == [0, 1, 2])
        #expect(out.allSatisfy { $0.item == "doc" })
    }

    /// "\r\n" is one Swift Character, so splitting a String on the Character "\n" alone
    /// would never cut a CRLF line.
    @Test("lines: CRLF line ends are cut and stripped")
    func crlf() throws {
        let out = try split("one\r\ntwo\r\n\r\nthree")
        #expect(out.map(\.value) == ["one", "two", "three"])
        let paragraphs = try split("a\r\nb\r\n\r\nc", ["by": "paragraphs"])
        #expect(paragraphs.map(\.value) == ["a\nb", "c"])
    }

    @Test("`skip_empty: false` keeps empty lines")
    func keepEmpty() throws {
        let out = try split("a\n\nb", ["skip_empty": false])
        #expect(out.map(\.value) == ["a", "", "b"])
        #expect(out.map(\.sequence) == [0, 1, 2])
    }

    @Test("paragraphs are separated by blank lines")
    func paragraphs() throws {
        let out = try split("first line\nsecond line\n\n\nnext para\n \nlast", ["by": "paragraphs"])
        #expect(out.map(\.value) == ["first line\nsecond line", "next para", "last"])
    }

    @Test("chars cuts pieces of at most max_chars characters")
    func chars() throws {
        let out = try split("abcdéfgh", ["by": "chars", "max_chars": 3])
        #expect(out.map(\.value) == ["abc", "déf", "gh"])
        #expect(out.map(\.sequence) == [0, 1, 2])
    }

    @Test("an unknown mode is refused by the schema; non-text input fails the item")
    func errors() throws {
        #expect(throws: NodeHarness.InvalidOptions.self) { try NodeHarness(builtin("text.split"), options: ["by": "words"]) }
        #expect(throws: NodeError.self) { try NodeHarness(builtin("text.split")).process(1) }
    }
}

@Suite("text.template")
struct TextTemplateTests {
    func render(_ template: String, _ record: Value, _ options: [String: Value] = [:]) throws -> Value? {
        var all = options
        all["template"] = .string(template)
        return try NodeHarness(builtin("text.template"), options: all).process(record, item: "in/a.txt", sequence: 4).first?.value
    }

    @Test("fields, dotted paths and list indexes are filled in")
    func fields() throws {
        let record: Value = ["name": "a.txt", "words": 12, "meta": ["tags": ["x", "y"], "size": ["w": 3]]]
        #expect(try render("{name} has {words} words", record) == "a.txt has 12 words")
        #expect(try render("{meta.tags.1}/{meta.size.w}", record) == "y/3")
        #expect(try render("{ name }", record) == "a.txt")
        #expect(try render("{meta.size}", record) == "{\"w\":3}")
    }

    @Test("{value}, {item} and {sequence} name the whole record, the item and the sequence")
    func specials() throws {
        #expect(try render("{item}#{sequence}: {value}", "hello") == "in/a.txt#4: hello")
        #expect(try render("{value}", [1, 2]) == "[1,2]")
    }

    @Test("{{ and }} are literal braces")
    func escapes() throws {
        #expect(try render("{{json}} {{{value}}}", "v") == "{json} {v}")
    }

    @Test("a missing field fails the item, or renders empty with `missing: empty`")
    func missing() throws {
        #expect(throws: NodeError.self) { try render("{nope}", ["a": 1]) }
        #expect(try render("[{nope}]", ["a": 1], ["missing": "empty"]) == "[]")
    }

    @Test("unbalanced braces fail the item")
    func unbalanced() throws {
        #expect(throws: NodeError.self) { try render("{open", "x") }
        #expect(throws: NodeError.self) { try render("close}", "x") }
    }
}

@Suite("json.get and json.merge")
struct JSONNodeTests {
    let record: Value = ["a": ["b": [10, ["c": "deep"]]], "n": 1]

    func get(_ path: String, _ value: Value, default fallback: Value? = nil) throws -> Value? {
        var options: [String: Value] = ["path": .string(path)]
        if let fallback { options["default"] = fallback }
        return try NodeHarness(builtin("json.get"), options: options).process(value).first?.value
    }

    @Test("json.get follows a dotted path through objects and lists")
    func lookup() throws {
        #expect(try get("a.b.1.c", record) == "deep")
        #expect(try get("a.b.0", record) == 10)
        #expect(try get("n", record) == 1)
    }

    @Test("json.get uses `default` when the path is absent, else fails the item")
    func absent() throws {
        #expect(try get("a.x", record, default: "none") == "none")
        #expect(try get("a.b.9", record, default: 0) == 0)
        let error = try #require(throws: NodeError.self) { try get("a.x", record) }
        #expect(error.message == "path 'a.x' is not in the record")
        #expect(throws: NodeError.self) { try get("n.m", record) }
    }

    @Test("json.merge with keys nests the two inputs")
    func mergeKeys() throws {
        let node = try NodeHarness(builtin("json.merge"), options: ["keys": ["left", "right"]])
        let out = try node.process(["a": 1, "b": "two"], item: "i", sequence: 2)
        #expect(out.map(\.value) == [["left": 1, "right": "two"]])
        #expect(out.first?.item == "i" && out.first?.sequence == 2)
    }

    @Test("json.merge without keys merges two objects, b winning")
    func mergeFields() throws {
        let node = try NodeHarness(builtin("json.merge"))
        let out = try node.process(["a": ["x": 1, "y": 1], "b": ["y": 2, "z": 3]])
        #expect(out.map(\.value) == [["x": 1, "y": 2, "z": 3]])
        #expect(throws: NodeError.self) { try node.process(["a": 1, "b": ["z": 3]]) }
    }

    @Test("json.merge with an empty key merges that side's fields and nests the other")
    func mergeOneSide() throws {
        let node = try NodeHarness(builtin("json.merge"), options: ["keys": ["", "transcript"]])
        let out = try node.process(["a": ["video": "v.mp4", "frames": [1, 2]], "b": ["text": "hi"]])
        #expect(out.map(\.value) == [["video": "v.mp4", "frames": [1, 2], "transcript": ["text": "hi"]]])
        let error = try #require(throws: NodeError.self) { try node.process(["a": 1, "b": 2]) }
        #expect(error.message.contains("needs a map on 'a'"))
    }

    @Test("json.collect lists an item's values by sequence at its end, with timestamps when asked")
    func collect() throws {
        let node = try NodeHarness(
            builtin("json.collect"), options: ["key": "frames", "item_key": "video", "timestamp_key": "t", "value_key": "labels"])
        for (sequence, value) in [(2, "c"), (0, "a"), (1, "b")] {
            #expect(try node.process(.string(value), item: "v.mp4", sequence: sequence, timestamp: Double(sequence)).isEmpty)
        }
        _ = try node.process("other", item: "w.mp4")
        let out = try node.endItem("v.mp4")
        #expect(out.map(\.value) == [[
            "video": "v.mp4",
            "frames": [["t": 0.0, "labels": "a"], ["t": 1.0, "labels": "b"], ["t": 2.0, "labels": "c"]],
        ]])
        #expect(out.first?.item == "v.mp4" && out.first?.sequence == 0)
        // A failed item is dropped; an item never seen gives nothing.
        #expect(try node.endItem("w.mp4", failed: true).isEmpty)
        #expect(try node.endItem("never").isEmpty)

        let plain = try NodeHarness(builtin("json.collect"), options: ["item_key": ""])
        _ = try plain.process(1, item: "x")
        #expect(try plain.endItem("x").map(\.value) == [["items": [1]]])
        #expect(throws: NodeError.self) { try NodeHarness(builtin("json.collect"), options: ["key": "item"]) }
        #expect(throws: NodeError.self) { try NodeHarness(builtin("json.merge")).endItem("x") }
    }

    @Test("json.merge refuses keys that do not name exactly two fields")
    func mergeKeyCount() {
        #expect(throws: NodeError.self) { try NodeHarness(builtin("json.merge"), options: ["keys": ["only"]]) }
    }
}

@Suite("file.info")
struct FileInfoTests {
    @Test("describes a file: path, name, lower-cased ext, size, kind, modified")
    func file() throws {
        let tmp = try TempDir()
        let path = try tmp.file("Photo.JPG", "12345")
        let out = try NodeHarness(builtin("file.info")).process(.string(path))
        let record = try #require(out.first?.value.objectValue)
        #expect(record["path"] == .string(path))
        #expect(record["name"] == "Photo.JPG")
        #expect(record["ext"] == "jpg")
        #expect(record["size"] == 5)
        #expect(record["kind"] == "file")
        let modified = try #require(record["modified"]?.stringValue)
        #expect(ISO8601DateFormatter().date(from: modified) != nil)
    }

    @Test("a directory is described as one; a missing path fails the item")
    func directoryAndMissing() throws {
        let tmp = try TempDir()
        let node = try NodeHarness(builtin("file.info"))
        #expect(try node.process(.string(tmp.path)).first?.value["kind"] == "directory")
        let error = try #require(throws: NodeError.self) { try node.process(.string(tmp.path + "/nope")) }
        #expect(error.message == "cannot stat \(tmp.path)/nope: no such file")
    }
}

@Suite("util.identity and util.delay")
struct UtilNodeTests {
    @Test("util.identity passes values, item, sequence and timestamp through")
    func identity() throws {
        let node = try NodeHarness(builtin("util.identity"))
        let out = try node.process(["k": [1, 2]], port: "in", item: "it", sequence: 9, timestamp: 2.5)
        #expect(out.count == 1)
        #expect(out.first?.value == ["k": [1, 2]])
        #expect(out.first?.port == "out" && out.first?.item == "it")
        #expect(out.first?.sequence == 9 && out.first?.timestamp == 2.5)
    }

    @Test("util.delay holds each packet for `ms` then passes it on")
    func delay() throws {
        let node = try NodeHarness(builtin("util.delay"), options: ["ms": 40])
        let start = Date()
        let out = try node.process("v", item: "it", sequence: 1)
        #expect(Date().timeIntervalSince(start) >= 0.04)
        #expect(out.map(\.value) == ["v"] && out.first?.item == "it" && out.first?.sequence == 1)
    }

    @Test("util.delay adds jitter within bounds, and requires ms")
    func jitter() throws {
        let node = try NodeHarness(builtin("util.delay"), options: ["ms": 0, "jitter_ms": 5])
        let start = Date()
        for i in 0..<5 { _ = try node.process(.int(i)) }
        #expect(Date().timeIntervalSince(start) < 1)
        #expect(throws: NodeHarness.InvalidOptions.self) { try NodeHarness(builtin("util.delay")) }
        #expect(throws: NodeHarness.InvalidOptions.self) { try NodeHarness(builtin("util.delay"), options: ["ms": -1]) }
    }
}
