import Foundation
import PipelineCore

/// The scene functions the command line uses (`pipeline render`, `pipeline view`).
public enum SceneTools {
    /// Nil when Chromium and three.js are present, else what is missing and how to get it.
    public static func missingRenderer() -> String? { ChromiumRenderer.missingPieces() }

    /// Renders a scene file (three.js JSON, or a scene record) to PNG bytes.
    /// - Parameter camera: overrides the scene's camera (`{position, look_at, fov}`).
    public static func renderPNG(file: String, width: Int, height: Int, camera: Value? = nil, timeout: Double = 60, antialias: Bool = true) throws -> [UInt8] {
        do {
            if let camera { _ = try SceneRender.checkCamera(camera) }
            let document = try SceneRender.document(for: .string(file))
            let renderer = try ChromiumRenderer(timeout: timeout, antialias: antialias)
            defer { renderer.stop() }
            return try renderer.render(document, width: width, height: height, camera: camera).png
        } catch let error as SceneError {
            throw NodeError(error.description)
        }
    }

    /// The three.js JSON text `scene.threejs` writes for a value (a scene record, parts, ...).
    public static func exportThreeJS(_ value: Value) throws -> String {
        do {
            return try SceneExporter.export(try ScenePart.parts(from: value)).document.jsonString()
        } catch let error as SceneError {
            throw NodeError(error.description)
        }
    }

    /// The Chromium the renderer would start, if any.
    public static func chromium() -> String? { ChromiumRenderer.locate() }

    /// Makes sure `FILE.html` and the three.js files sit beside a scene file; returns the page's name.
    public static func ensureViewer(for file: String) throws -> String {
        let dir = (file as NSString).deletingLastPathComponent
        let name = (file as NSString).lastPathComponent
        let page = (name as NSString).deletingPathExtension + ".html"
        try ScenePage.install(into: dir.isEmpty ? "." : dir)
        let pagePath = (dir.isEmpty ? "." : dir) + "/" + page
        if !FileManager.default.fileExists(atPath: pagePath) {
            try AtomicFile.write(Array(ScenePage.viewer(for: name, title: (name as NSString).deletingPathExtension).utf8), to: pagePath)
        }
        return page
    }
}
