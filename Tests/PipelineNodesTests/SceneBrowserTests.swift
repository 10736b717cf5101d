import Foundation
import PipelineCore
import PipelineMedia
import Synchronization
import Testing

@testable import PipelineNodes

/// True when headless Chromium and three.js r111 are here; CI installs them (scripts/setup), so
/// there the suite always runs and a missing browser is a failure, not a skip.
let browserPresent = ChromiumRenderer.missingPieces() == nil || ProcessInfo.processInfo.environment["CI"] != nil

/// Scenes exported by scene.threejs, loaded by three.js r111's ObjectLoader in headless Chromium
/// and rendered with SwiftShader WebGL; pixels are checked at positions projected here, in Swift,
/// from the record's camera.
@Suite("scenes in a real browser", .enabled(if: browserPresent), .serialized)
struct SceneBrowserTests {
    static let width = 256, height = 192

    /// A scene for the checks: objects in a row facing the camera (none hides another), each
    /// shape and colour in turn, some labelled, some with a picture or points, camera jittered.
    struct Case: CustomTestStringConvertible, Sendable {
        var index: Int
        var testDescription: String { "scene \(index)" }

        var record: Value {
            let shapes = SceneRecord.Shape.allCases.map(\.rawValue)
            let count = 1 + index % 4
            var objects: [Value] = []
            for k in 0..<count {
                let n = index * 3 + k
                let size = [0.8, 1.0, 1.2][n % 3]
                var object: [String: Value] = [
                    "shape": .string(shapes[(index + k) % 4]), "color": .string(SceneColor.names[n % 7]),
                    "position": [.double(Double(k) * 1.7 - Double(count - 1) * 0.85), 0, 0],
                    "size": .double(size), "rotation_y": .double(Double(n * 17 % 90)),
                ]
                if n % 2 == 0 { object["label"] = .string("\(shapes[(index + k) % 4]) \(n)") }
                objects.append(.object(object))
            }
            let jitter = Double(index % 5) * 0.15 - 0.3
            let camera: Value = [
                "position": [.double(jitter), .double(2.2 + jitter), .double(5.5 + Double(count) * 0.6)],
                "look_at": [0, 0.5, 0], "fov": .double(50 + jitter * 10),
            ]
            return ["objects": .array(objects), "camera": camera, "background": "#dde3ea"]
        }

        /// What goes on the port: the record, plus a picture (every 3rd) or points (every 4th).
        var input: Value {
            var parts: [Value] = [record]
            if index % 3 == 1 { parts.append(.payload(ImagePayload(image: Self.picture))) }
            if index % 4 == 2 { parts.append(["points": [[2.6, 0.4, 0.5, 1, 0, 1], [-2.6, 0.4, 0.5, 0, 1, 1]], "size": 0.35]) }
            return parts.count == 1 ? record : .array(parts)
        }

        static let picture = Image(width: 32, height: 24, channels: 3, fill: [240, 140, 20])
    }

    static let cases = (0..<24).map { Case(index: $0) }

    /// One browser for the whole suite (as the renderer is meant to be used).
    static let renderer = Mutex(try? ChromiumRenderer(timeout: 60, antialias: ProcessInfo.processInfo.environment["SCENE_TEST_AA"] != "0"))

    @Test("renders with r111's ObjectLoader: no console error, every object loaded and at its projected pixel", arguments: cases)
    func renders(_ scene: Case) throws {
        let (document, summary) = try SceneExporter.export(try ScenePart.parts(from: scene.input))
        let started = Date()
        let result = try Self.renderer.withLock { renderer in
            let r = try #require(renderer, "Chromium: \(ChromiumRenderer.missingPieces() ?? "did not start")")
            return try r.render(document.jsonString(), width: Self.width, height: Self.height)
        }
        let wall = Date().timeIntervalSince(started) * 1000
        let objects = document["object"]!["children"]!.arrayValue!.filter { $0["userData"]?["kind"] != nil && $0["userData"]?["kind"] != "label" }
        #expect(result.counts["object", default: 0] + result.counts["image", default: 0] + result.counts["points", default: 0] == summary.objectCount)
        #expect(objects.count == summary.objectCount)
        let labels = scene.record["objects"]!.arrayValue!.filter { $0["label"] != nil }.count
        #expect(result.counts["label"] == labels)

        if let dir = ProcessInfo.processInfo.environment["PIPELINE_SCENE_TEST_OUT"] {
            // To look at what the test saw.
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: "\(dir)/scene-\(scene.index).png", contents: Data(result.png))
            print("scene \(scene.index): \(Int(wall)) ms, in the page \(result.pageMilliseconds.sorted { $0.key < $1.key }.map { "\($0.key) \(Int($0.value))" })")
        }
        let image = try decodePNG(result.png)
        #expect(image.width == Self.width && image.height == Self.height)
        let camera = try SceneRecord.parseCamera(scene.record["camera"]!, at: "camera", objects: [])
        let materials = Dictionary(uniqueKeysWithValues: document["materials"]!.arrayValue!.map { ($0["uuid"]!.stringValue!, $0) })
        for object in objects {
            let kind = object["userData"]!["kind"]!.stringValue!
            let m = object["matrix"]!.arrayValue!.map { $0.doubleValue! }
            var point = [m[12], m[13], m[14]]
            let expected: [Double]
            var lit = true
            switch kind {
            case "object":
                expected = rgb(materials[object["material"]!.stringValue!]!["color"]!.intValue!)
            case "image":
                // Near the top edge: objects and their labels stand in front of the lower part.
                let geometry = document["geometries"]!.arrayValue!.first { $0["uuid"] == object["geometry"] }!
                point[1] += geometry["height"]!.doubleValue! / 2 - 0.1
                expected = Case.picture.pixels[0..<3].map(Double.init)
                lit = false
            default:
                // The first point, and its vertex colour.
                let geometry = document["geometries"]!.arrayValue!.first { $0["uuid"] == object["geometry"] }!
                let attributes = geometry["data"]!["attributes"]!
                let p = attributes["position"]!["array"]!.arrayValue!.prefix(3).map { $0.doubleValue! }
                point = zip(point, p).map(+)
                expected = attributes["color"]!["array"]!.arrayValue!.prefix(3).map { $0.doubleValue! * 255 }
                lit = false
            }
            let (x, y) = project(point, camera: camera)
            let pixel = image.pixel(x: Int(x), y: Int(y)).prefix(3).map(Double.init)
            #expect(matches(pixel, expected, lit: lit),
                    "\(object["name"]!) at (\(Int(x)), \(Int(y))): got \(pixel), expected \(lit ? "shaded " : "")\(expected)")
        }
    }

    @Test("round trip: record -> JSON -> ObjectLoader -> toJSON() gives the same objects, transforms and colours",
          arguments: [cases[0], cases[5], cases[7], cases[10]])
    func roundTrip(_ scene: Case) throws {
        let (document, _) = try SceneExporter.export(try ScenePart.parts(from: scene.input))
        let result = try Self.renderer.withLock { renderer in
            let r = try #require(renderer, "Chromium did not start")
            return try r.render(document.jsonString(), width: 64, height: 64, roundTrip: true)
        }
        let data = try JSONSerialization.data(withJSONObject: try #require(result.roundTrip))
        let back = try Value(jsonText: String(decoding: data, as: UTF8.self))
        let ours = document["object"]!["children"]!.arrayValue!
        let theirs = Dictionary(uniqueKeysWithValues: back["object"]!["children"]!.arrayValue!.map { ($0["uuid"]!.stringValue!, $0) })
        let theirMaterials = Dictionary(uniqueKeysWithValues: back["materials"]!.arrayValue!.map { ($0["uuid"]!.stringValue!, $0) })
        let theirGeometries = Dictionary(uniqueKeysWithValues: back["geometries"]!.arrayValue!.map { ($0["uuid"]!.stringValue!, $0) })
        let ourMaterials = Dictionary(uniqueKeysWithValues: document["materials"]!.arrayValue!.map { ($0["uuid"]!.stringValue!, $0) })
        let ourGeometries = Dictionary(uniqueKeysWithValues: document["geometries"]!.arrayValue!.map { ($0["uuid"]!.stringValue!, $0) })
        #expect(theirs.count == ours.count)
        for object in ours {
            let name = object["name"]!
            let other = try #require(theirs[object["uuid"]!.stringValue!], "\(name) missing after the round trip")
            #expect(other["type"] == object["type"] && other["name"] == name)
            let a = object["matrix"]!.arrayValue!.map { $0.doubleValue! }, b = other["matrix"]!.arrayValue!.map { $0.doubleValue! }
            #expect(zip(a, b).allSatisfy { abs($0 - $1) < 1e-5 }, "\(name): matrix \(a) came back as \(b)")
            if let material = object["material"]?.stringValue {
                #expect(theirMaterials[material]?["color"] == ourMaterials[material]?["color"], "\(name): colour")
                #expect(theirMaterials[material]?["type"] == ourMaterials[material]?["type"], "\(name): material type")
            }
            if let geometry = object["geometry"]?.stringValue, ourGeometries[geometry]?["type"] != "BufferGeometry" {
                for (key, value) in ourGeometries[geometry]!.objectValue! {
                    #expect(theirGeometries[geometry]?[key] == value, "\(name): geometry \(key)")
                }
            }
        }
    }

    @Test("a scene with a broken picture fails loudly, and the browser goes on with the next scene")
    func brokenPicture() throws {
        var document = try SceneExporter.export(try ScenePart.parts(from: Case(index: 1).input)).document
        guard case .object(var fields) = document, case .array(var images) = fields["images"]! else { Issue.record("no images"); return }
        images[0] = ["uuid": images[0]["uuid"]!, "url": "data:image/png;base64,AAAA"]
        fields["images"] = .array(images)
        document = .object(fields)
        let broken = document
        try Self.renderer.withLock { renderer in
            let r = try #require(renderer, "Chromium did not start")
            let error = try #require(throws: SceneError.self) { try r.render(broken.jsonString(), width: 64, height: 64) }
            #expect(error.description.contains("cannot load image"), "\(error)")
            let good = try SceneExporter.export(try ScenePart.parts(from: Case(index: 0).input)).document
            #expect(try r.render(good.jsonString(), width: 64, height: 64).png.count > 100)
        }
    }

    @Test("a page that hangs times out, the browser is restarted, and the next scene renders")
    func timeout() throws {
        let renderer = try ChromiumRenderer(timeout: 6)
        defer { renderer.stop() }
        let good = try SceneExporter.export(try ScenePart.parts(from: Case(index: 2).input)).document.jsonString()
        #expect(try renderer.render(good, width: 32, height: 32).png.count > 50)
        let started = Date()
        // Stands in for a scene that never finishes: the expression spins forever in the page.
        let error = try #require(throws: SceneError.self) {
            try renderer.render("(function () { for (;;) {} })()", width: 32, height: 32)
        }
        #expect(error.description == "chromium did not finish rendering a scene within 6.0 s")
        #expect(Date().timeIntervalSince(started) < 20)
        #expect(try renderer.render(good, width: 32, height: 32).png.count > 50)
        #expect(renderer.launches == 2)
    }

    // MARK: Helpers

    func rgb(_ hex: Int) -> [Double] { [Double((hex >> 16) & 255), Double((hex >> 8) & 255), Double(hex & 255)] }

    /// Pixel coordinates of a world point seen by `camera` (three.js's lookAt and projection).
    func project(_ p: [Double], camera: SceneRecord.Camera) -> (Double, Double) {
        let z = ThreeJSDocument.normalize(zip(camera.position, camera.lookAt).map { $0 - $1 })
        let x = ThreeJSDocument.normalize(ThreeJSDocument.cross([0, 1, 0], z))
        let y = ThreeJSDocument.cross(z, x)
        let d = zip(p, camera.position).map { $0 - $1 }
        let dot = { (a: [Double], b: [Double]) in zip(a, b).map { $0 * $1 }.reduce(0, +) }
        let depth = -dot(d, z)
        let t = tan(camera.fov * .pi / 360)
        let aspect = Double(Self.width) / Double(Self.height)
        let nx = dot(d, x) / depth / (t * aspect), ny = dot(d, y) / depth / t
        return ((nx + 1) / 2 * Double(Self.width), (1 - ny) / 2 * Double(Self.height))
    }

    /// Unlit colours match within 10/255 per channel; lit ones are the colour times a shading
    /// factor in [0.45, 1.25] (ambient 0.55 + directional 0.6 cos), within 24/255 per channel.
    func matches(_ pixel: [Double], _ expected: [Double], lit: Bool) -> Bool {
        guard lit else { return zip(pixel, expected).allSatisfy { abs($0 - $1) <= 10 } }
        let k = zip(pixel, expected).map { $0 * $1 }.reduce(0, +) / max(1, expected.map { $0 * $0 }.reduce(0, +))
        guard (0.45...1.25).contains(k) else { return false }
        return zip(pixel, expected).allSatisfy { abs($0 - min(255, k * $1)) <= 24 }
    }

    func decodePNG(_ bytes: [UInt8]) throws -> Image {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("scene-\(UUID().uuidString).png").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        var options = ImageDecodeOptions()
        options.channels = .rgb
        return try ImageDecoder.decode(path: path, options: options)
    }
}
