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
        OptionSpec("gather", .bool, default: false,
            doc: "put every input of the run into one scene (a gallery), written when the inputs end, as the new item `gather_item`"),
        OptionSpec("gather_item", .string, default: "gallery", doc: "with gather: the item id (and {stem}) of the gathered scene"),
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
    private let gather: Bool
    private let gatherItem: String
    private var installed = false
    /// With `gather`: the parts received so far, by item id (written sorted, so the order is stable).
    private var gathered: [(item: String, sequence: Int, parts: [ScenePart])] = []
    static let maxGathered = 1000

    init(options: Options, context: NodeContext) throws {
        dir = options.string("dir")!
        template = options.string("name")!
        viewer = options.bool("viewer")!
        pretty = options.bool("pretty")!
        gather = options.bool("gather")!
        gatherItem = options.string("gather_item")!
        guard template.hasSuffix(".json") else { throw NodeError("scene.threejs: name '\(template)' must end in .json") }
        // Copies would each gather their share and write the same file.
        if gather && context.copy > 0 { throw NodeError("scene.threejs: gather needs concurrency 1") }
    }

    static func environmentProblem(_ options: Options) -> (message: String, hint: String?)? {
        guard options.bool("viewer") != false, let missing = ScenePage.missingLibrary() else { return nil }
        return (missing, "or set `viewer: false` to write the JSON alone")
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        guard let packet = input.packet(at: 0) else { return }
        let parts: [ScenePart]
        do {
            parts = try ScenePart.parts(from: input.value)
        } catch let error as SceneError {
            throw NodeError(error.description)
        }
        if gather {
            guard gathered.count < Self.maxGathered else {
                throw NodeError("gather: more than \(Self.maxGathered) inputs for one scene")
            }
            gathered.append((packet.item.id, packet.sequence, parts))
            return
        }
        let path = try MediaFileName.path(template, dir: dir, packet: packet)
        for file in try write(parts, to: path) { output.published(file) }
        try output.emit(.string(path))
    }

    func finish(_ output: NodeOutput) throws {
        guard gather, !gathered.isEmpty else { return }
        let ordered = gathered.sorted { ($0.item, $0.sequence) < ($1.item, $1.sequence) }.flatMap(\.parts)
        gathered = []
        let name = FilesSink.render(template, item: gatherItem, sequence: 0)
        guard !name.isEmpty, !name.contains("/") else { throw NodeError("file name template '\(template)' gave an invalid name '\(name)'") }
        let path = (dir as NSString).appendingPathComponent(name)
        let files = try write(ordered, to: path)
        try output.emit(.string(path), item: gatherItem)
        for file in files { output.published(file) }
    }

    /// Exports `parts` to `path` and, with `viewer`, writes the page and three.js beside it;
    /// returns the scene's and the page's paths.
    private func write(_ parts: [ScenePart], to path: String) throws -> [String] {
        let document: Value
        do {
            document = try SceneExporter.export(parts).document
        } catch let error as SceneError {
            throw NodeError(error.description)
        }
        try AtomicFile.write(Array(document.jsonString(pretty: pretty).utf8), to: path)
        guard viewer else { return [path] }
        if !installed {
            try ScenePage.install(into: dir)
            installed = true
        }
        let file = (path as NSString).lastPathComponent
        let page = ScenePage.viewer(for: file, title: (file as NSString).deletingPathExtension)
        let htmlPath = (path as NSString).deletingPathExtension + ".html"
        try AtomicFile.write(Array(page.utf8), to: htmlPath)
        return [path, htmlPath]
    }

    static func publishedPaths(_ options: Options) -> [(path: String, isDirectory: Bool)] {
        [(options.string("dir")!, true)]
    }
}
