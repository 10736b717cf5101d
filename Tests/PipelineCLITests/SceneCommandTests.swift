import Foundation
import PipelineCore
import PipelineNodes
import Testing

#if canImport(Glibc)
import Glibc
#endif

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `pipeline render`, `pipeline view`, and a renderer pipeline's validation without Chromium.
@Suite("scene commands", .serialized)
struct SceneCommandTests {
    static let record = #"{"objects": [{"shape": "sphere", "color": "blue", "position": [0, 0, 0]}], "camera": {"position": [0, 1.5, 4], "look_at": [0, 0.5, 0]}}"#

    static let renderPipeline = """
        version: 1
        name: render
        nodes:
          - id: src
            type: source.files
            with: { paths: [scene.json] }
          - id: render
            type: scene.render
            inputs: { scene: src.path }
            with: { dir: out }
        """

    /// Runs the binary with extra environment variables.
    func run(_ arguments: [String], in directory: String, environment: [String: String] = [:], timeout: Double = 60) throws -> CLI.Result {
        let binary = try #require(CLI.binary, "no pipeline binary: build it, or set PIPELINE_BIN")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            process.terminate()
            Issue.record("pipeline \(arguments.joined(separator: " ")) did not exit within \(timeout) s")
        }
        process.waitUntilExit()
        return CLI.Result(
            status: process.terminationStatus,
            stdout: String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
            stderr: String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    @Test("a pipeline that renders is invalid without Chromium: exit 2, file:line:col, what to install")
    func missingChromium() throws {
        let ws = try Workspace()
        try ws.write("p.yaml", Self.renderPipeline)
        try ws.write("scene.json", Self.record)
        let r = try run(["validate", "p.yaml"], in: ws.path, environment: ["PIPELINE_CHROMIUM": ws.path + "/no-such-chromium"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("p.yaml:7:5: error: node 'render' (scene.render): PIPELINE_CHROMIUM=\(ws.path)/no-such-chromium is not an executable"),
                "\(r.stderr)")
        let bad = try run(["validate", "p.yaml"], in: ws.path, environment: ["PIPELINE_THREE_DIR": ws.path + "/no-three"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("no-three/three.min.js is missing: install Debian's libjs-three"), "\(bad.stderr)")
    }

    @Test("render writes a PNG of the asked size; a bad scene fails with the field", .enabled(if: browserHere))
    func render() throws {
        let ws = try Workspace()
        try ws.write("scene.json", Self.record)
        let r = try run(["render", "scene.json", "-o", "out/scene.png", "--width", "96", "--height", "64"], in: ws.path)
        #expect(r.status == 0, "\(r.stderr)")
        let png = try #require(FileManager.default.contents(atPath: ws.path + "/out/scene.png"))
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        // IHDR: width and height, big-endian, at bytes 16...23.
        let bytes = [UInt8](png)
        #expect(Int(bytes[18]) << 8 | Int(bytes[19]) == 96)
        #expect(Int(bytes[22]) << 8 | Int(bytes[23]) == 64)

        try ws.write("bad.json", #"{"objects": [{"shape": "pyramid"}]}"#)
        let bad = try run(["render", "bad.json", "-o", "bad.png"], in: ws.path)
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("bad.json.objects[0].shape: 'pyramid' is not one of"), "\(bad.stderr)")
    }

    @Test("view serves the viewer page, the scene and three.js on 127.0.0.1, and nothing outside the folder", .enabled(if: threeHere))
    func view() throws {
        let ws = try Workspace()
        try ws.write("secret.txt", "no")
        try ws.write("site/scene.json", Self.record)
        let (process, url) = try Self.startView("site/scene.json", requests: 4, in: ws)
        defer { if process.isRunning { process.terminate() } }
        #expect(url.hasPrefix("http://127.0.0.1:") && url.hasSuffix("/scene.html"), "\(url)")
        let base = String(url.dropLast("scene.html".count))
        let page = try String(contentsOf: URL(string: url)!, encoding: .utf8)
        #expect(page.contains("ObjectLoader") && page.contains("\"scene.json\""))
        let scene = try Data(contentsOf: URL(string: base + "scene.json")!)
        #expect(String(decoding: scene, as: UTF8.self) == Self.record)
        let three = try Data(contentsOf: URL(string: base + "three.min.js")!)
        #expect(three.count > 100_000)
        #expect((try? Data(contentsOf: URL(string: base + "..%2Fsecret.txt")!)).map { String(decoding: $0, as: UTF8.self) } != "no")
    }
}

extension SceneCommandTests {
    @Test("the viewer page, served by view, loads the scene in headless Chromium", .enabled(if: browserHere))
    func viewerInBrowser() throws {
        let chromium = try #require(SceneTools.chromium(), "no Chromium")
        let ws = try Workspace()
        let record = try String(contentsOfFile: CLI.repository + "/pipelines/samples/scenes/desk.json", encoding: .utf8)
        try ws.write("site/desk.json", try SceneTools.exportThreeJS(try Value(jsonText: record)))
        // The page asks for itself, three.min.js, OrbitControls.js, the scene and a favicon.
        let (server, url) = try Self.startView("site/desk.json", requests: 5, in: ws)
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        var arguments = ["--headless", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--user-data-dir=\(ws.path)/profile",
                         "--virtual-time-budget=10000", "--dump-dom", url]
        if geteuid() == 0 { arguments.insert("--no-sandbox", at: 0) }
        let text = try CLI.capture(chromium, arguments).text
        #expect(text.contains("desk: 4 objects, 0 pictures, 0 point sets"), "\(text.suffix(400))")
    }
}

extension SceneCommandTests {
    /// Starts `pipeline view SCENE --port 0 --requests N` in the workspace and returns the
    /// server and the URL it prints on its first line.
    static func startView(_ scene: String, requests: Int, in ws: Workspace) throws -> (Process, String) {
        let binary = try #require(CLI.binary)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: binary)
        server.arguments = ["view", scene, "--port", "0", "--requests", String(requests)]
        server.currentDirectoryURL = URL(fileURLWithPath: ws.path)
        let out = Pipe()
        server.standardOutput = out
        try server.run()
        var firstLine = Data()
        while !firstLine.contains(10) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            firstLine += chunk
        }
        let url = String(decoding: firstLine, as: UTF8.self).split(separator: "\n").first.map(String.init)
        if url == nil { server.terminate() }
        return (server, try #require(url, "pipeline view printed no URL"))
    }
}

let browserHere = SceneTools.missingRenderer() == nil || ProcessInfo.processInfo.environment["CI"] != nil
let threeHere = FileManager.default.fileExists(atPath: "/usr/share/javascript/three/three.min.js")
    || ProcessInfo.processInfo.environment["CI"] != nil
