import Foundation
import PipelineCore
import PipelineMedia
import Testing

@testable import PipelineNodes

@Suite("json.read")
struct JSONReadTests {
    @Test("a .json file is one value")
    func document() throws {
        let tmp = try TempDir()
        let path = try tmp.file("a.json", #"{"objects": [{"shape": "cube"}], "n": 2}"#)
        let out = try NodeHarness(builtin("json.read")).process(.string(path), item: path)
        #expect(out.map(\.value) == [["objects": [["shape": "cube"]], "n": 2]])
        #expect(out.first?.port == "value")
    }

    @Test("a .jsonl file is one packet per line, blank lines skipped, sequence = index")
    func lines() throws {
        let tmp = try TempDir()
        let path = try tmp.file("a.jsonl", "{\"a\": 1}\n\n  [1, 2]\r\n\"x\"\n")
        let out = try NodeHarness(builtin("json.read")).process(.string(path), item: path)
        #expect(out.map(\.value) == [["a": 1], [1, 2], "x"])
        #expect(out.map(\.sequence) == [0, 1, 2])
    }

    @Test("a malformed line fails the item at file:line; a malformed document names the file")
    func malformed() throws {
        let tmp = try TempDir()
        let path = try tmp.file("bad.jsonl", "{\"a\": 1}\n{\"a\": \n[3]\n")
        let error = try #require(throws: NodeError.self) { try NodeHarness(builtin("json.read")).process(.string(path)) }
        #expect(error.message.hasPrefix("\(path):2: not valid JSON"), "\(error.message)")
        let doc = try tmp.file("bad.json", "{\"a\": }")
        let error2 = try #require(throws: NodeError.self) { try NodeHarness(builtin("json.read")).process(.string(doc)) }
        #expect(error2.message.hasPrefix("\(doc): not valid JSON"), "\(error2.message)")
    }

    @Test("a missing file, a directory or a file over max_bytes fails the item")
    func notReadable() throws {
        let tmp = try TempDir()
        #expect(throws: NodeError.self) { try NodeHarness(builtin("json.read")).process(.string(tmp.path + "/none.json")) }
        #expect(throws: NodeError.self) { try NodeHarness(builtin("json.read")).process(.string(tmp.path)) }
        let path = try tmp.file("big.json", "[1, 2, 3, 4, 5]")
        let error = try #require(throws: NodeError.self) {
            try NodeHarness(builtin("json.read"), options: ["max_bytes": 4]).process(.string(path))
        }
        #expect(error.message.contains("over max_bytes 4"))
    }
}

@Suite("scene records and three.js export")
struct SceneExportTests {
    static let record: Value = [
        "objects": [
            ["shape": "cube", "color": "red", "position": [0, 0, 0], "size": 1, "label": "box"],
            ["shape": "sphere", "color": "blue", "position": [2, 0, 0], "size": 0.8, "rotation_y": 30],
            ["shape": "cylinder", "color": "#10a050", "position": [-2, 0, 1], "size": 1.2],
            ["shape": "cone", "color": "yellow", "position": [0, 0, -2]],
        ],
        "camera": ["position": [4, 3, 6], "look_at": [0, 0.5, 0], "fov": 45],
        "background": "#203040",
    ]

    func objects(_ document: Value) -> [Value] {
        document["object"]?["children"]?.arrayValue ?? []
    }

    @Test("a record exports to format 4.5 with one mesh per object, shared resources and the camera")
    func exportsRecord() throws {
        let (document, summary) = try SceneExporter.export(try ScenePart.parts(from: Self.record))
        #expect(document["metadata"]?["version"] == 4.5)
        #expect(document["metadata"]?["type"] == "Object")
        #expect(summary.objectCount == 4)
        let children = objects(document)
        let meshes = children.filter { $0["userData"]?["kind"] == "object" }
        #expect(meshes.map { $0["name"] } == ["object-0", "object-1", "object-2", "object-3"])
        let types = Set((document["geometries"]?.arrayValue ?? []).compactMap { $0["type"]?.stringValue })
        #expect(types.isSuperset(of: ["BoxGeometry", "SphereGeometry", "CylinderGeometry", "ConeGeometry", "PlaneGeometry", "BufferGeometry"]))
        // Every referenced geometry and material exists.
        let geometryIDs = Set((document["geometries"]?.arrayValue ?? []).compactMap { $0["uuid"]?.stringValue })
        let materialIDs = Set((document["materials"]?.arrayValue ?? []).compactMap { $0["uuid"]?.stringValue })
        for child in children where child["geometry"] != nil {
            #expect(geometryIDs.contains(child["geometry"]!.stringValue!))
            #expect(materialIDs.contains(child["material"]!.stringValue!))
        }
        // The cube stands on the ground: its centre is half its size up; matrices are column-major.
        #expect(meshes[0]["matrix"] == [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0.5, 0, 1])
        let camera = try #require(children.first { $0["type"] == "PerspectiveCamera" })
        #expect(camera["fov"] == 45)
        let m = camera["matrix"]!.arrayValue!.map { $0.doubleValue! }
        #expect(Array(m[12...14]) == [4, 3, 6])
        // The camera's -z axis points at look_at.
        let forward = [-m[8], -m[9], -m[10]]
        let toTarget = ThreeJSDocument.normalize([-4, -2.5, -6])
        #expect(zip(forward, toTarget).allSatisfy { abs($0 - $1) < 1e-6 })
        #expect(document["object"]?["background"] == .int(0x203040))
        // The label is a sprite with a PNG texture.
        let label = try #require(children.first { $0["name"] == "label-0" })
        #expect(label["type"] == "Sprite")
        let url = try #require(document["images"]?.arrayValue?.first?["url"]?.stringValue)
        #expect(url.hasPrefix("data:image/png;base64,iVBORw0KGgo"))
    }

    @Test("export is deterministic: same record, same bytes; uuids are unique")
    func deterministic() throws {
        let a = try SceneExporter.export(try ScenePart.parts(from: Self.record)).document.jsonString()
        let b = try SceneExporter.export(try ScenePart.parts(from: Self.record)).document.jsonString()
        #expect(a == b)
        let document = try Value(jsonText: a)
        var ids = objects(document).compactMap { $0["uuid"]?.stringValue }
        for key in ["geometries", "materials", "textures", "images"] {
            ids += (document[key]?.arrayValue ?? []).compactMap { $0["uuid"]?.stringValue }
        }
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { $0.count == 36 && $0.split(separator: "-").count == 5 })
    }

    @Test("bad records fail with the field's path", arguments: [
        (#"{"objects": [{"shape": "pyramid"}]}"#, "scene.objects[0].shape: 'pyramid' is not one of cube, sphere, cylinder, cone"),
        (#"{"objects": [{"shape": "cube", "color": "mauve"}]}"#, "scene.objects[0].color: 'mauve' is not a colour"),
        (#"{"objects": [{"shape": "cube", "position": [0, 1e9, 0]}]}"#, "scene.objects[0].position[1]: 1000000000 is outside -1000...1000"),
        (#"{"objects": [{"shape": "cube", "position": [0, 1]}]}"#, "scene.objects[0].position: expected [x, y, z], got a list of 2"),
        (#"{"objects": [{"shape": "cube", "size": 0}]}"#, "scene.objects[0].size: must be greater than 0"),
        (#"{"objects": [{"shape": "cube", "colour": "red"}]}"#, "scene.objects[0].colour: unknown field"),
        (#"{"objects": [], "camera": {"position": [1, 1, 1], "look_at": [1, 1, 1]}}"#, "scene.camera.look_at: equals the camera position"),
        (#"{"objects": [], "camera": {"fov": 400}}"#, "scene.camera.fov: 400 is outside 1...170"),
        (#"{"objects": "many"}"#, "scene.objects: expected a list, got string"),
        (##"{"objects": [], "background": "#12345"}"##, "scene.background: '#12345' is not a colour"),
    ])
    func badRecord(_ json: String, _ message: String) throws {
        let error = try #require(throws: SceneError.self) { try ScenePart.parts(from: try Value(jsonText: json)) }
        #expect(error.description.hasPrefix("scene field " + message), "\(error.description)")
    }

    @Test("NaN coordinates and 100,000 objects are refused, naming the field")
    func limits() throws {
        let nan: Value = ["objects": [["shape": "cube", "position": [0, .double(.nan), 0]]]]
        let e1 = try #require(throws: SceneError.self) { try ScenePart.parts(from: nan) }
        #expect(e1.description.contains("objects[0].position[1]: nan is not a finite number"), "\(e1.description)")
        let many = Value.object(["objects": .array(Array(repeating: ["shape": "cube"], count: 100_000))])
        let e2 = try #require(throws: SceneError.self) { try ScenePart.parts(from: many) }
        #expect(e2.description == "scene field scene.objects: 100000 objects, more than the 10000 a scene may hold")
    }

    @Test("pictures, points and lists of parts; undecodable pictures and bad points are per-item errors")
    func otherParts() throws {
        let tmp = try TempDir()
        let image = Image(width: 8, height: 4, channels: 3, fill: [200, 100, 50])
        let parts = try ScenePart.parts(from: [
            .payload(ImagePayload(image: image)),
            ["image": .payload(ImagePayload(image: image)), "caption": ["top": [["label": "tabby, tabby cat", "probability": 0.5]]]],
            [[0, 0, 0], [1, 1, 1]],
            ["points": [[0, 0, 0, 1, 0, 0]], "size": 0.2],
        ])
        #expect(parts.count == 4)
        if case .image(_, let caption) = parts[1] { #expect(caption == "tabby 50%") } else { Issue.record("not a picture") }
        let (document, summary) = try SceneExporter.export(parts)
        #expect(summary.objectCount == 4)
        #expect(objects(document).contains { $0["name"] == "caption-1" })

        // {parts, title}: what json.collect gathers, with a title above.
        let titled = try ScenePart.parts(from: ["parts": [.payload(ImagePayload(image: image))], "title": "hello there"])
        #expect(titled.count == 2)
        let (withTitle, _) = try SceneExporter.export(titled)
        let title = try #require(objects(withTitle).first { $0["name"] == "title" })
        #expect(title["type"] == "Sprite" && title["userData"]?["text"] == "hello there")

        let notImage = try tmp.file("fake.png", "not a png")
        let e1 = try #require(throws: SceneError.self) { try ScenePart.parts(from: ["image": .string(notImage)]) }
        #expect(e1.description.hasPrefix("scene field scene.image: \(notImage) is not a decodable image"), "\(e1.description)")
        let e2 = try #require(throws: SceneError.self) { try ScenePart.parts(from: [[0, 0, 0], [1, 1, 1, 0, 0, 0]]) }
        #expect(e2.description.hasPrefix("scene field scene[1]: every point needs a colour"), "\(e2.description)")
        let e3 = try #require(throws: SceneError.self) { try ScenePart.parts(from: 42) }
        #expect(e3.description.hasPrefix("scene input: scene is int"))
    }

    @Test("scene.threejs writes the JSON, the viewer page and the three.js files beside it")
    func node() throws {
        let tmp = try TempDir()
        let harness = try NodeHarness(builtin("scene.threejs"), options: ["dir": .string(tmp.path)])
        let out = try harness.process(Self.record, item: "/photos/room.jpg")
        #expect(out.map(\.value) == [.string(tmp.path + "/room.json")])
        let written = try #require(tmp.read("room.json"))
        #expect(written == (try SceneExporter.export(try ScenePart.parts(from: Self.record)).document.jsonString()))
        let page = try #require(tmp.read("room.html"))
        #expect(page.contains("\"room.json\"") && page.contains("OrbitControls.js"))
        #expect(tmp.exists("three.min.js") && tmp.exists("OrbitControls.js"))
        let error = try #require(throws: NodeError.self) {
            try NodeHarness(builtin("scene.threejs"), options: ["dir": .string(tmp.path)]).process(Value.object(["objects": [["shape": "star"]]]))
        }
        #expect(error.message.contains("objects[0].shape: 'star'"))
    }

    @Test("labels are drawn from the font: ink where letters are, panel around them")
    func labels() {
        let picture = LabelRasterizer.image("Hi")
        #expect(picture.height == LabelFont.cellHeight + 2 * LabelRasterizer.padding)
        #expect(picture.width == 2 * LabelFont.cellWidth + 2 * LabelRasterizer.padding)
        let dark = stride(from: 0, to: picture.pixels.count, by: 4).filter { picture.pixels[$0] < 100 && picture.pixels[$0 + 3] > 200 }
        #expect(dark.count > 30)
        #expect(LabelRasterizer.displayText("ok\u{00E9}") == [111, 107, 63])
        #expect(LabelRasterizer.displayText(String(repeating: "a", count: 50)).count == LabelRasterizer.maxCharacters)
    }
}
