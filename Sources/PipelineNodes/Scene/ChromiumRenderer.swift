import Foundation
import PipelineCore
import PipelineMedia
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Renders three.js scenes to PNG in one headless Chromium (software WebGL through
/// SwiftShader), reused for scene after scene: the browser starts once, loads `ScenePage`
/// once, and each scene is one `pipelineScene.render(...)` call over the DevTools pipe.
///
/// A scene that takes longer than `timeout` kills the browser and fails with
/// `SceneError.timeout`; the next scene starts a fresh one. Console errors and uncaught
/// exceptions while a scene loads fail that scene.
final class ChromiumRenderer {
    /// What one render returns.
    struct Result {
        var png: [UInt8]
        /// Loaded objects by `userData.kind` (`object`, `image`, `points`, `label`).
        var counts: [String: Int]
        /// The scene as three.js's `toJSON()` gives it back, when asked for.
        var roundTrip: Any?
        /// Milliseconds in the page: `load` (ObjectLoader, images), `draw` (WebGL), `encode` (PNG).
        var pageMilliseconds: [String: Double] = [:]
    }

    let executable: String
    let timeout: Double
    let antialias: Bool
    private var pid: pid_t = 0
    private var pipe: DevToolsPipe?
    private var session: String?
    private var profile: String?
    /// Number of browser launches (for the benchmark and tests).
    private(set) var launches = 0

    /// Seconds a browser may take to start and load the page (at least; the scene timeout if longer).
    static let startTimeout = 60.0

    /// Browsers started and not yet stopped, by process id (and process group).
    private static let live = Mutex<Set<pid_t>>([])

    /// Ends every live browser when the process exits normally: Chromium does not notice that
    /// the end of its DevTools pipe went away, so a renderer that is never stopped (a static in
    /// a test, a node whose run was abandoned) would leave it running. A process killed outright
    /// cannot do this; its browsers must be ended by hand.
    private static let killAtExit: Void = {
        atexit {
            for pid in ChromiumRenderer.live.withLock({ $0 }) {
                kill(-pid, SIGKILL)
                kill(pid, SIGKILL)
            }
        }
    }()

    /// The Chromium to run: `PIPELINE_CHROMIUM`, else Debian's binary, else `chromium` or
    /// `chromium-browser` on the PATH; nil when there is none.
    static func locate() -> String? {
        let env = ProcessInfo.processInfo.environment
        if let given = env["PIPELINE_CHROMIUM"], !given.isEmpty {
            return FileManager.default.isExecutableFile(atPath: given) ? given : nil
        }
        if FileManager.default.isExecutableFile(atPath: "/usr/lib/chromium/chromium") { return "/usr/lib/chromium/chromium" }
        for dir in (env["PATH"] ?? "/usr/bin").split(separator: ":") {
            for name in ["chromium", "chromium-browser", "google-chrome"] where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
                return "\(dir)/\(name)"
            }
        }
        return nil
    }

    /// Nil when a browser and three.js are present, else what is missing.
    static func missingPieces() -> String? {
        if locate() == nil {
            let given = ProcessInfo.processInfo.environment["PIPELINE_CHROMIUM"]
            return given.map { "PIPELINE_CHROMIUM=\($0) is not an executable" }
                ?? "no Chromium found (install Debian's chromium: scripts/setup, or set PIPELINE_CHROMIUM)"
        }
        return ScenePage.missingLibrary()
    }

    /// - Parameter antialias: multisampled edges (4x MSAA); smoother, and slower in software.
    init(executable: String? = nil, timeout: Double = 30, antialias: Bool = true) throws {
        guard let path = executable ?? Self.locate() else { throw SceneError.browser(Self.missingPieces() ?? "no Chromium found") }
        self.executable = path
        self.timeout = timeout
        self.antialias = antialias
    }

    deinit { stop() }

    /// Renders the three.js JSON `document` at `width` x `height`; `camera` overrides the
    /// scene's (`{position, look_at, fov}`).
    func render(_ document: String, width: Int, height: Int, camera: Value? = nil, roundTrip: Bool = false) throws -> Result {
        var starting = true
        do {
            // Starting the browser is not part of a scene: it has its own, longer allowance.
            try start(deadline: Date(timeIntervalSinceNow: max(timeout, Self.startTimeout)))
            starting = false
            let deadline = Date(timeIntervalSinceNow: timeout)
            var options: [String: Value] = ["width": .int(width), "height": .int(height)]
            if let camera { options["camera"] = camera }
            if roundTrip { options["roundTrip"] = true }
            _ = pipe!.takeEvents()
            let reply = try pipe!.call(
                "Runtime.evaluate",
                ["expression": "pipelineScene.render(\(document), \(Value.object(options).jsonString()))",
                 "awaitPromise": true, "returnByValue": true],
                session: session, deadline: deadline)
            if let problems = consoleErrors(pipe!.takeEvents()), !problems.isEmpty {
                throw SceneError.page(problems.joined(separator: "; "))
            }
            if let details = reply["exceptionDetails"] as? [String: Any] {
                let exception = (details["exception"] as? [String: Any])?["description"] as? String
                throw SceneError.page(exception ?? details["text"] as? String ?? "exception while rendering")
            }
            guard let value = (reply["result"] as? [String: Any])?["value"] as? [String: Any],
                let base64 = value["rgba"] as? String, let rgba = Data(base64Encoded: base64), rgba.count == width * height * 4
            else { throw SceneError.page("the page returned no picture") }
            if let errors = value["errors"] as? [String], !errors.isEmpty { throw SceneError.page(errors.joined(separator: "; ")) }
            let png = try Self.png(rgba: rgba, width: width, height: height)
            let counts = (value["counts"] as? [String: Any] ?? [:]).compactMapValues { ($0 as? NSNumber)?.intValue }
            let ms = (value["ms"] as? [String: Any] ?? [:]).compactMapValues { ($0 as? NSNumber)?.doubleValue }
            return Result(png: [UInt8](png), counts: counts, roundTrip: value["json"], pageMilliseconds: ms)
        } catch let error as SceneError {
            if case .timeout = error {
                stop()
                throw starting
                    ? SceneError.timeout(seconds: max(timeout, Self.startTimeout), step: "starting and loading the render page")
                    : SceneError.timeout(seconds: timeout, step: "rendering a scene")
            }
            if case .browser = error { stop() }
            throw error
        }
    }

    /// PNG bytes (RGBA) from WebGL's bottom-up RGBA rows: rows are flipped with one copy each.
    static func png(rgba: Data, width: Int, height: Int) throws -> [UInt8] {
        let row = width * 4
        var pixels = [UInt8](repeating: 0, count: row * height)
        pixels.withUnsafeMutableBytes { dst in
            rgba.withUnsafeBytes { src in
                for y in 0..<height {
                    (dst.baseAddress! + y * row).copyMemory(from: src.baseAddress! + (height - 1 - y) * row, byteCount: row)
                }
            }
        }
        do {
            return try ImageWriter.encode(Image(width: width, height: height, channels: 4, pixels: pixels), format: .png)
        } catch {
            throw SceneError.page("cannot encode the picture as PNG: \(error)")
        }
    }

    /// Error-level console messages, uncaught exceptions and log errors among `events`.
    private func consoleErrors(_ events: [[String: Any]]) -> [String]? {
        var problems: [String] = []
        for event in events {
            let params = event["params"] as? [String: Any] ?? [:]
            switch event["method"] as? String {
            case "Runtime.consoleAPICalled":
                guard ["error", "assert"].contains(params["type"] as? String ?? "") else { continue }
                let args = (params["args"] as? [[String: Any]] ?? []).map { arg in
                    (arg["value"].map { "\($0)" }) ?? (arg["description"] as? String ?? "")
                }
                problems.append("console.error: " + args.joined(separator: " "))
            case "Runtime.exceptionThrown":
                let details = params["exceptionDetails"] as? [String: Any] ?? [:]
                let description = (details["exception"] as? [String: Any])?["description"] as? String
                problems.append("exception: " + (description ?? details["text"] as? String ?? "?"))
            default:
                continue
            }
        }
        return problems
    }

    // MARK: Browser lifetime

    /// Starts the browser and loads the page, unless that is already done.
    private func start(deadline: Date) throws {
        if pipe != nil { return }
        if let missing = ScenePage.missingLibrary() { throw SceneError.browser(missing) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-chromium-\(getpid())-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir + "/profile", withIntermediateDirectories: true)
        profile = dir
        try ScenePage.install(into: dir)
        guard FileManager.default.createFile(atPath: dir + "/render.html", contents: Data(ScenePage.rendererPage.utf8)) else {
            throw SceneError.browser("cannot write \(dir)/render.html")
        }
        try launch(profile: dir + "/profile")
        let created = try pipe!.call("Target.createTarget", ["url": "about:blank"], deadline: deadline)
        guard let target = created["targetId"] as? String else { throw SceneError.browser("Target.createTarget gave no targetId") }
        let attached = try pipe!.call("Target.attachToTarget", ["targetId": target, "flatten": true], deadline: deadline)
        guard let session = attached["sessionId"] as? String else { throw SceneError.browser("Target.attachToTarget gave no sessionId") }
        self.session = session
        try pipe!.call("Runtime.enable", session: session, deadline: deadline)
        try pipe!.call("Page.enable", session: session, deadline: deadline)
        let page = URL(fileURLWithPath: dir + "/render.html").absoluteString + (antialias ? "" : "?antialias=0")
        try pipe!.call("Page.navigate", ["url": page], session: session, deadline: deadline)
        _ = try pipe!.waitForEvent("Page.loadEventFired", deadline: deadline)
        let check = try pipe!.call(
            "Runtime.evaluate",
            ["expression": "typeof THREE === 'object' && typeof pipelineScene === 'object' ? THREE.REVISION : 'missing'", "returnByValue": true],
            session: session, deadline: deadline)
        let revision = (check["result"] as? [String: Any])?["value"] as? String ?? "missing"
        if revision == "missing" { throw SceneError.browser("the render page did not load three.js from \(dir)") }
        if let problems = consoleErrors(pipe!.takeEvents()), !problems.isEmpty {
            throw SceneError.browser("the render page reported: " + problems.joined(separator: "; "))
        }
    }

    private func launch(profile: String) throws {
        var toBrowser: [Int32] = [0, 0], fromBrowser: [Int32] = [0, 0]
        guard Glibc.pipe(&toBrowser) == 0, Glibc.pipe(&fromBrowser) == 0 else { throw SceneError.browser("pipe() failed") }
        var arguments = [
            executable, "--headless", "--remote-debugging-pipe", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
            "--user-data-dir=\(profile)", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--mute-audio",
            "--hide-scrollbars", "--disable-dev-shm-usage",
        ]
        if geteuid() == 0 { arguments.append("--no-sandbox") }  // Chromium refuses root with its sandbox on.
        // Extra flags for experiments, e.g. PIPELINE_CHROMIUM_FLAGS="--in-process-gpu".
        arguments += (ProcessInfo.processInfo.environment["PIPELINE_CHROMIUM_FLAGS"] ?? "").split(separator: " ").map(String.init)
        arguments.append("about:blank")

        // Its own process group (so stop() ends its helpers too), default signal actions.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGTERM)
        sigaddset(&defaults, SIGINT)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toBrowser[0], 3)
        posix_spawn_file_actions_adddup2(&actions, fromBrowser[1], 4)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, (profile as NSString).deletingLastPathComponent + "/stderr.log",
                                         O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let r = posix_spawn(&child, executable, &actions, &attributes, argv, environ)
        close(toBrowser[0])
        close(fromBrowser[1])
        guard r == 0 else {
            close(toBrowser[1])
            close(fromBrowser[0])
            throw SceneError.browser("cannot start \(executable): \(String(cString: strerror(r)))")
        }
        _ = fcntl(toBrowser[1], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fromBrowser[0], F_SETFD, FD_CLOEXEC)
        pid = child
        Self.live.withLock { $0.insert(child) }
        Self.killAtExit
        pipe = DevToolsPipe(writeFD: toBrowser[1], readFD: fromBrowser[0])
        launches += 1
    }

    /// Ends the browser (politely, then by force) and removes its profile.
    func stop() {
        if let pipe, pid > 0 {
            _ = try? pipe.call("Browser.close", deadline: Date(timeIntervalSinceNow: 2))
        }
        pipe = nil
        session = nil
        if pid > 0 {
            var status: Int32 = 0
            var waited = false
            for _ in 0..<40 {
                if waitpid(pid, &status, WNOHANG) == pid { waited = true; break }
                usleep(50_000)
            }
            if !waited {
                kill(-pid, SIGKILL)
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
            }
            Self.live.withLock { _ = $0.remove(pid) }
            pid = 0
        }
        if let profile { try? FileManager.default.removeItem(atPath: profile) }
        profile = nil
    }
}
