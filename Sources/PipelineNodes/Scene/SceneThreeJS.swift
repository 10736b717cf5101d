import Foundation
import PipelineCore

/// Exports scene records, pictures and point sets as three.js JSON Object Scene files (format
/// 4.5), each with a viewer page beside it.
final class SceneThreeJS: PipelineNode, FilePublisher, EnvironmentCheck {
    static let type = "scene.threejs"
    static let summary = "Writes a scene record, image, points or a list of these as a three.js JSON scene, with a viewer page."
    static let inputs = [
        PortSpec("scene", .any, doc: "a scene record {objects, camera, background}, an image, {image, caption}, points, or a list of these")
    ]
    static let outputs = [PortSpec("path", .path, doc: "the .json scene written")]
    static let options = [
        OptionSpec("dir", .string, required: true, doc: "output directory (created if missing)"),
        OptionSpec("name", .string, default: "{stem}.json", doc: "file name template: " + MediaFileName.tokens),
        OptionSpec("viewer", .bool, default: true,
            doc: "also write NAME.html (three.js + OrbitControls, copied beside it) to look at the scene; open it with `pipeline view`"),
        OptionSpec("pretty", .bool, default: false, doc: "indent the JSON (larger; easier to read)"),
    ]
    static let example = """
        - id: scene
          type: scene.threejs
          inputs: { scene: read.value }
          with: { dir: out/scenes, name: "{stem}.json" }
        """

    private let dir: String
    private let template: String
    private let viewer: Bool
    private let pretty: Bool
    private var installed = false

    init(options: Options, context: NodeContext) throws {
        dir = options.string("dir")!
        template = options.string("name")!
        viewer = options.bool("viewer")!
        pretty = options.bool("pretty")!
        guard template.hasSuffix(".json") else { throw NodeError("scene.threejs: name '\(template)' must end in .json") }
    }

    static func environmentProblem(_ options: Options) -> (message: String, hint: String?)? {
        guard options.bool("viewer") != false, let missing = ScenePage.missingLibrary() else { return nil }
        return (missing, "or set `viewer: false` to write the JSON alone")
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        guard let packet = input.packet(at: 0) else { return }
        let path = try MediaFileName.path(template, dir: dir, packet: packet)
        let document: Value
        do {
            document = try SceneExporter.export(try ScenePart.parts(from: input.value)).document
        } catch let error as SceneError {
            throw NodeError(error.description)
        }
        try AtomicFile.write(Array(document.jsonString(pretty: pretty).utf8), to: path)
        output.published(path)
        if viewer {
            if !installed {
                try ScenePage.install(into: dir)
                installed = true
            }
            let file = (path as NSString).lastPathComponent
            let page = ScenePage.viewer(for: file, title: (file as NSString).deletingPathExtension)
            let htmlPath = (path as NSString).deletingPathExtension + ".html"
            try AtomicFile.write(Array(page.utf8), to: htmlPath)
            output.published(htmlPath)
        }
        try output.emit(.string(path))
    }

    static func publishedPaths(_ options: Options) -> [(path: String, isDirectory: Bool)] {
        [(options.string("dir")!, true)]
    }
}
