import Foundation

/// Runs the ffmpeg/ffprobe command-line tools for the tests (the independent reference).
enum Tool {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs `/usr/bin/env <args>` and returns stdout; throws with stderr on a non-zero exit.
    @discardableResult
    static func run(_ args: [String]) throws -> Data {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read both pipes concurrently so neither can fill and block the child.
        let errBox = DataBox()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errBox.data = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            let msg = String(decoding: errBox.data.suffix(2000), as: UTF8.self)
            throw Failure(description: "\(args.joined(separator: " ")) exited \(p.terminationStatus): \(msg)")
        }
        return data
    }

    /// `ffmpeg -hide_banner -loglevel error -y <args>`.
    static func ffmpeg(_ args: [String]) throws {
        try run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y"] + args)
    }

    /// Raw RGB24 bytes as the ffmpeg CLI decodes `path` (first frame), with `flags` as sws_flags.
    static func rawRGB(_ path: String, flags: String = "bilinear", pixFmt: String = "rgb24", filter: String? = nil,
                       autorotate: Bool = true) throws -> [UInt8] {
        var args = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin"]
        if !autorotate { args.append("-noautorotate") }
        args += ["-i", path, "-frames:v", "1", "-sws_flags", flags]
        if let filter { args += ["-vf", filter] }
        args += ["-f", "rawvideo", "-pix_fmt", pixFmt, "-"]
        return [UInt8](try run(args))
    }

    /// Float32 samples as `ffmpeg -i X -ar R -ac C -f f32le -` decodes them.
    static func rawF32(_ path: String, rate: Int, channels: Int) throws -> [Float] {
        let data = try run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-i", path, "-vn",
                            "-ar", "\(rate)", "-ac", "\(channels)", "-f", "f32le", "-"])
        return data.withUnsafeBytes { raw in Array(raw.bindMemory(to: Float.self)) }
    }
}

/// A mutable box for data read on another queue.
final class DataBox: @unchecked Sendable {
    var data = Data()
}
