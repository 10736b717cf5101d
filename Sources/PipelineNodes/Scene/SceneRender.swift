import Foundation
import PipelineCore

/// Renders scenes to PNG files in headless Chromium (software WebGL), one browser per node copy
/// reused for every scene.
final class SceneRender: PipelineNode, FilePublisher, EnvironmentCheck {
    static let type = "scene.render"
    static let summary = "Renders a three.js scene file (or a scene record, image, points) to PNG in headless Chromium."
    static let inputs = [
        PortSpec("scene", .any, doc: "the path of a .json scene (three.js, or a scene record), or what scene.threejs takes")
    ]
    static let outputs = [PortSpec("path", .path, doc: "the .png written")]
    static let options = [
        OptionSpec("dir", .string, required: true, doc: "output directory (created if missing)"),
        OptionSpec("name", .string, default: "{stem}.png", doc: "file name template: " + MediaFileName.tokens),
        OptionSpec("width", .int, default: 640, range: 16...4096, doc: "picture width in pixels"),
        OptionSpec("height", .int, default: 480, range: 16...4096, doc: "picture height in pixels"),
        OptionSpec("camera", .json, doc: "override the scene's camera: {position: [x,y,z], look_at: [x,y,z], fov: degrees}"),
        OptionSpec("timeout", .double, default: 30, range: 1...600, doc: "seconds one scene may take (the browser is restarted after)"),
        OptionSpec("antialias", .bool, default: true, doc: "smooth edges (4x multisampling; slower in software WebGL)"),
    ]
    static let example = """
        - id: render
          type: scene.render
          inputs: { scene: scene.path }
          with: { dir: out/renders, width: 512, height: 512 }
        """

    private let dir: String
    private let template: String
    private let width: Int
    private let height: Int
    private let camera: Value?
    private let renderer: ChromiumRenderer

    init(options: Options, context: NodeContext) throws {
        dir = options.string("dir")!
        template = options.string("name")!
        width = options.int("width")!
        height = options.int("height")!
        if let given = options["camera"], given != .null {
            _ = try Self.checkCamera(given)
            camera = given
        } else {
            camera = nil
        }
        do {
            renderer = try ChromiumRenderer(timeout: options.double("timeout")!, antialias: options.bool("antialias")!)
        } catch let error as SceneError {
            throw NodeError(error.description)
        }
    }

    static func environmentProblem(_ options: Options) -> (message: String, hint: String?)? {
        ChromiumRenderer.missingPieces().map { ($0, "scene.render draws with headless Chromium and three.js r111 (Debian: chromium, libjs-three)") }
    }

    /// Checks a camera override's fields (as the record's camera) so a typo fails before the run.
    static func checkCamera(_ value: Value) throws -> SceneRecord.Camera {
        do {
            return try SceneRecord.parseCamera(value, at: "camera", objects: [])
        } catch let error as SceneError {
            throw NodeError("option \(error.description)")
        }
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        guard let packet = input.packet(at: 0) else { return }
        let path = try MediaFileName.path(template, dir: dir, packet: packet)
        do {
            let document = try Self.document(for: input.value)
            let result = try renderer.render(document, width: width, height: height, camera: camera)
            try AtomicFile.write(result.png, to: path)
        } catch let error as SceneError {
            throw NodeError(error.description)
        }
        output.published(path)
        try output.emit(.string(path))
    }

    func finish(_ output: NodeOutput) throws {
        renderer.stop()
    }

    /// The three.js JSON text to render for a port value: a file's text (a three.js scene as
    /// is; a scene record exported first), or an exported scene part.
    static func document(for value: Value) throws -> String {
        if case .string(let path) = value {
            let data = try FileContents.read(path, maxBytes: 1 << 30)
            let parsed = try JSONRead.parse(data, path: path)
            if parsed["metadata"]?["type"]?.stringValue == "Object", parsed["object"] != nil {
                // Valid JSON (checked above), so it is safe to hand to the page as an expression.
                return String(decoding: data, as: UTF8.self)
            }
            return try SceneExporter.export(try ScenePart.parts(from: parsed, field: path)).document.jsonString()
        }
        return try SceneExporter.export(try ScenePart.parts(from: value)).document.jsonString()
    }

    static func publishedPaths(_ options: Options) -> [(path: String, isDirectory: Bool)] {
        [(options.string("dir")!, true)]
    }
}
