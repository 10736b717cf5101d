import ArgumentParser
import Foundation
import PipelineCore
import PipelineNodes

/// `pipeline render`: one scene file to a PNG through headless Chromium.
struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Render a scene (three.js JSON from scene.threejs, or a scene record) to PNG in headless Chromium.")

    @Argument(help: "The scene file (.json).") var file: String
    @Option(name: .shortAndLong, help: "The PNG to write.") var output: String
    @Option(help: "Width in pixels.") var width = 640
    @Option(help: "Height in pixels.") var height = 480
    @Option(help: "Camera override as JSON: {\"position\": [x,y,z], \"look_at\": [x,y,z], \"fov\": 50}.") var camera: String?
    @Option(help: "Seconds the scene may take.") var timeout: Double = 60
    @Flag(help: "No multisampling (faster in software WebGL, jagged edges).") var noAntialias = false

    func run() throws {
        guard (16...4096).contains(width), (16...4096).contains(height) else {
            throw ValidationError("--width and --height must be 16...4096")
        }
        if let missing = SceneTools.missingRenderer() { throw ValidationError(missing) }
        var cameraValue: Value?
        if let camera {
            guard let parsed = try? Value(jsonText: camera) else { throw ValidationError("--camera is not JSON: \(camera)") }
            cameraValue = parsed
        }
        do {
            let png = try SceneTools.renderPNG(
                file: file, width: width, height: height, camera: cameraValue, timeout: timeout, antialias: !noAntialias)
            try AtomicFile.write(png, to: output)
        } catch {
            Terminal.error("\(error)")
            throw Exit.failed
        }
        print(output)
    }
}
