import Foundation

/// Media files for the media node tests, made once per test process with the ffmpeg CLI
/// (lavfi sources only), plus the broken inputs the nodes must fail per item.
final class MediaFixtures: Sendable {
    static let shared: Result<MediaFixtures, any Error> = Result { try MediaFixtures() }

    /// The fixtures, or the error that stopped making them.
    static func get() throws -> MediaFixtures { try shared.get() }

    let dir: String

    private init() throws {
        let tmp = FileManager.default.temporaryDirectory
        // Remove folders left by earlier test processes that are gone.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: tmp.path)) ?? []
        where name.hasPrefix("pipeline-node-media-") {
            if let pid = Int32(name.dropFirst("pipeline-node-media-".count)), pid != getpid(), kill(pid, 0) != 0 {
                try? FileManager.default.removeItem(at: tmp.appendingPathComponent(name))
            }
        }
        let base = tmp.appendingPathComponent("pipeline-node-media-\(getpid())")
        try? FileManager.default.removeItem(at: base)
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        dir = base.path
        let src = "testsrc2=size=320x240:rate=25"
        try FFmpegCLI.run(["-f", "lavfi", "-i", src, "-frames:v", "1", p("photo.png")])
        try FFmpegCLI.run(["-f", "lavfi", "-i", "testsrc2=size=400x300:rate=25", "-frames:v", "1", "-q:v", "3", p("photo.jpg")])
        try FFmpegCLI.run(["-f", "lavfi", "-i", src, "-frames:v", "1", "-vf", "format=rgba,colorchannelmixer=aa=0.5",
                           "-pix_fmt", "rgba", p("alpha.png")])
        try FFmpegCLI.run(["-f", "lavfi", "-i", src, "-frames:v", "1", "-pix_fmt", "gray", p("gray.png")])
        // 2 s at 25 fps, a keyframe every 10 frames, with a 48 kHz AAC tone.
        try FFmpegCLI.run(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2",
                           "-f", "lavfi", "-i", "sine=frequency=330:sample_rate=48000:duration=2",
                           "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-pix_fmt", "yuv420p",
                           "-c:a", "aac", "-shortest", p("clip.mp4")])
        try FFmpegCLI.run(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10:duration=1",
                           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", p("silent.mp4")])
        // 2.5 s of stereo 44.1 kHz: a tone left, another right.
        try FFmpegCLI.run(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=2.5",
                           "-f", "lavfi", "-i", "sine=frequency=660:sample_rate=44100:duration=2.5",
                           "-filter_complex", "[0][1]amerge=inputs=2", "-c:a", "pcm_s16le", p("tone.wav")])
        // Broken inputs.
        try Data("this is text, not a JPEG\n".utf8).write(to: URL(fileURLWithPath: p("fake.jpg")))
        let png = try Data(contentsOf: URL(fileURLWithPath: p("photo.png")))
        try png.prefix(png.count / 3).write(to: URL(fileURLWithPath: p("truncated.png")))
        try FileManager.default.createDirectory(atPath: p("folder.png"), withIntermediateDirectories: true)
    }

    /// Path of a fixture in the folder.
    func p(_ name: String) -> String { dir + "/" + name }
}

/// The ffmpeg and ffprobe command-line tools, the independent reference.
enum FFmpegCLI {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// `ffmpeg -y <args>`, quiet.
    static func run(_ args: [String]) throws {
        try tool(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y"] + args)
    }

    /// Runs `/usr/bin/env <args>` and returns stdout; throws with stderr on failure.
    @discardableResult
    static func tool(_ args: [String]) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = args
        let out = Pipe()
        let err = FileManager.default.temporaryDirectory.appendingPathComponent("ffmpeg-err-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: err) }
        process.standardOutput = out
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
            throw Failure(description: "\(args.joined(separator: " ")) exited \(process.terminationStatus): \(message)")
        }
        return data
    }

    /// `ffprobe` stream fields of the first stream, as `key=value` pairs.
    static func probe(_ path: String, _ entries: String = "codec_name,width,height,sample_rate,channels,duration")
        throws -> [String: String]
    {
        let out = try tool(["ffprobe", "-v", "error", "-show_entries", "stream=" + entries, "-of", "default=nw=1", path])
        var fields: [String: String] = [:]
        for line in String(decoding: out, as: UTF8.self).split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2, fields[String(parts[0])] == nil { fields[String(parts[0])] = String(parts[1]) }
        }
        return fields
    }

    /// Raw RGB24 bytes of the first frame as the CLI decodes `path`.
    static func rawRGB(_ path: String) throws -> [UInt8] {
        [UInt8](try tool(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-i", path, "-frames:v", "1",
                          "-sws_flags", "bilinear", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]))
    }

    /// Float32 samples of `path` as the CLI decodes them.
    static func rawF32(_ path: String) throws -> [Float] {
        let data = try tool(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-i", path, "-f", "f32le", "-"])
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    /// `best_effort_timestamp_time` of every video frame of `path`.
    static func frameTimes(_ path: String) throws -> [Double] {
        let out = try tool(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "frame=best_effort_timestamp_time", "-of", "csv=p=0", path])
        return String(decoding: out, as: UTF8.self).split(whereSeparator: \.isNewline)
            .compactMap { Double($0.trimmingCharacters(in: CharacterSet(charactersIn: ", "))) }
    }
}
