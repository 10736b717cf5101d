import ArgumentParser
import Foundation
import PipelineNodes

#if canImport(Glibc)
import Glibc
#endif

/// `pipeline view`: serves a scene's folder on 127.0.0.1 so its viewer page can fetch it.
///
/// Browsers refuse `fetch` from `file://` pages, so the viewer needs HTTP. The server is a
/// plain loop: GET only, files inside the folder only (no `..`, no symlinks out), one request
/// per connection; it runs until Ctrl-C.
struct ViewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "view",
        abstract: "Serve a scene file's folder on 127.0.0.1 and print the URL of its viewer page.")

    @Argument(help: "The scene file (.json, as scene.threejs writes).") var file: String
    @Option(help: "Port to listen on (0: any free port).") var port = 8765
    @Option(help: "Stop after serving this many requests (0: run until Ctrl-C; for tests).") var requests = 0

    func run() throws {
        guard FileManager.default.fileExists(atPath: file) else { throw ValidationError("no such file: \(file)") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0...65535") }
        // A parent that ignores SIGTERM passes that on; this server should stop when told to.
        signal(SIGTERM, SIG_DFL)
        signal(SIGINT, SIG_DFL)
        let page = try SceneTools.ensureViewer(for: file)
        let root = URL(fileURLWithPath: (file as NSString).deletingLastPathComponent.isEmpty ? "." : (file as NSString).deletingLastPathComponent)
            .standardizedFileURL.resolvingSymlinksInPath().path

        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw ValidationError("socket() failed") }
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 16) == 0 else {
            throw ValidationError("cannot listen on 127.0.0.1:\(port): \(String(cString: strerror(errno))) (try --port 0)")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        let url = "http://127.0.0.1:\(UInt16(bigEndian: actual.sin_port))/\(page)"
        // Unbuffered, so a script reading the first line gets the URL at once.
        FileHandle.standardOutput.write(Data("\(url)\nserving \(root) (Ctrl-C to stop)\n".utf8))
        var served = 0
        while requests == 0 || served < requests {
            let client = accept(listener, nil, nil)
            if client < 0 { continue }
            Self.answer(client, root: root)
            close(client)
            served += 1
        }
        close(listener)
    }

    /// Reads one request and answers it with a file under `root`, or an error status.
    static func answer(_ client: Int32, root: String) {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while request.count < 16_384, !request.suffix(4).elementsEqual([13, 10, 13, 10]) {
            let n = chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            request += chunk[..<n]
        }
        let line = String(decoding: request.prefix(while: { $0 != 13 && $0 != 10 }), as: UTF8.self).split(separator: " ")
        guard line.count >= 2, line[0] == "GET" || line[0] == "HEAD" else { return reply(client, 405, "text/plain", Array("GET only\n".utf8)) }
        var path = String(line[1].prefix(while: { $0 != "?" && $0 != "#" }))
        path = path.removingPercentEncoding ?? path
        if path == "/" { path = "/index.html" }
        let full = URL(fileURLWithPath: root + path).standardizedFileURL.resolvingSymlinksInPath().path
        guard full.hasPrefix(root + "/"), !path.contains(".."), let data = FileManager.default.contents(atPath: full) else {
            return reply(client, 404, "text/plain", Array("not found: \(path)\n".utf8))
        }
        let types = ["html": "text/html; charset=utf-8", "js": "text/javascript", "json": "application/json", "png": "image/png",
                     "jpg": "image/jpeg", "jpeg": "image/jpeg"]
        reply(client, 200, types[(full as NSString).pathExtension.lowercased()] ?? "application/octet-stream",
              line[0] == "HEAD" ? [] : [UInt8](data))
    }

    static func reply(_ client: Int32, _ status: Int, _ type: String, _ body: [UInt8]) {
        let reason = [200: "OK", 404: "Not Found", 405: "Method Not Allowed"][status] ?? "Error"
        let head = "HTTP/1.1 \(status) \(reason)\r\nContent-Type: \(type)\r\nContent-Length: \(body.count)\r\n"
            + "Cache-Control: no-store\r\nConnection: close\r\n\r\n"
        let bytes = Array(head.utf8) + body
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }
}
