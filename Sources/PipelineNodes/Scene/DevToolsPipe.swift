import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Chrome DevTools Protocol over `--remote-debugging-pipe`: the browser reads NUL-terminated
/// JSON commands on its fd 3 and writes NUL-terminated replies and events on its fd 4. No
/// websocket, no port: the pipe lives and dies with the process.
///
/// Calls are synchronous: `call` writes a command and reads until its reply arrives, keeping the
/// events that came first (console messages, exceptions) for `takeEvents`. Every read has a
/// deadline, so a stuck browser is an error, never a hang.
final class DevToolsPipe {
    private let writeFD: Int32
    private let readFD: Int32
    private var buffer: [UInt8] = []
    private var nextID = 1
    private var events: [[String: Any]] = []

    init(writeFD: Int32, readFD: Int32) {
        self.writeFD = writeFD
        self.readFD = readFD
    }

    deinit {
        close(writeFD)
        close(readFD)
    }

    /// Sends `method` with `params` (to a page when `session` is set) and returns the reply's
    /// `result`; a protocol error becomes `SceneError.browser`.
    @discardableResult
    func call(_ method: String, _ params: [String: Any] = [:], session: String? = nil, deadline: Date) throws -> [String: Any] {
        let id = nextID
        nextID += 1
        var message: [String: Any] = ["id": id, "method": method, "params": params]
        if let session { message["sessionId"] = session }
        var bytes = [UInt8](try JSONSerialization.data(withJSONObject: message))
        bytes.append(0)
        try send(bytes, deadline: deadline, step: method)
        while true {
            let reply = try receive(deadline: deadline, step: method)
            if let replyID = reply["id"] as? Int, replyID == id {
                if let error = reply["error"] as? [String: Any] {
                    throw SceneError.browser("\(method): \(error["message"] as? String ?? "\(error)")")
                }
                return reply["result"] as? [String: Any] ?? [:]
            }
            if reply["method"] != nil { events.append(reply) }
        }
    }

    /// Reads messages until an event named `method` arrives (kept events are searched first).
    func waitForEvent(_ method: String, deadline: Date) throws -> [String: Any] {
        if let i = events.firstIndex(where: { $0["method"] as? String == method }) { return events.remove(at: i) }
        while true {
            let message = try receive(deadline: deadline, step: "waiting for \(method)")
            if message["method"] as? String == method { return message }
            if message["method"] != nil { events.append(message) }
        }
    }

    /// The events received since the last call, oldest first.
    func takeEvents() -> [[String: Any]] {
        defer { events.removeAll() }
        return events
    }

    private func send(_ bytes: [UInt8], deadline: Date, step: String) throws {
        var offset = 0
        while offset < bytes.count {
            try wait(for: writeFD, events: Int16(POLLOUT), deadline: deadline, step: step)
            let n = bytes[offset...].withUnsafeBytes { write(writeFD, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw SceneError.browser("the browser closed its pipe (\(String(cString: strerror(errno))))")
            }
            offset += n
        }
    }

    private func receive(deadline: Date, step: String) throws -> [String: Any] {
        while true {
            if let end = buffer.firstIndex(of: 0) {
                let data = Data(buffer[..<end])
                buffer.removeSubrange(...end)
                guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                    throw SceneError.browser("unreadable message from the browser: \(String(decoding: data.prefix(200), as: UTF8.self))")
                }
                return object
            }
            try wait(for: readFD, events: Int16(POLLIN), deadline: deadline, step: step)
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let n = chunk.withUnsafeMutableBytes { read(readFD, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw SceneError.browser("reading the browser's pipe failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 { throw SceneError.browser("the browser exited (its pipe closed) during \(step)") }
            buffer.append(contentsOf: chunk[..<n])
        }
    }

    private func wait(for fd: Int32, events: Int16, deadline: Date, step: String) throws {
        while true {
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 { throw SceneError.timeout(seconds: 0, step: step) }
            var p = pollfd(fd: fd, events: events, revents: 0)
            let r = poll(&p, 1, Int32(min(remaining * 1000, 60_000).rounded(.up)))
            if r > 0 { return }
            if r < 0 && errno != EINTR { throw SceneError.browser("poll failed: \(String(cString: strerror(errno)))") }
        }
    }
}
