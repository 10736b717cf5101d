import Foundation
import PipelineCore
import PipelineMedia

/// Shared pieces of the media nodes: option specs, parsing, and error wording.
enum MediaSupport {
    /// The `algorithm` option values (swscale interpolations).
    static let algorithms = ScaleAlgorithm.allCases.map(\.rawValue)

    /// The `policy` option values of resizing nodes.
    static let policies = ["stretch", "letterbox", "center-crop", "shorter-side"]

    /// FFmpeg's own stderr log is silenced once, when the first media node is built: every
    /// failure already reaches the run's report with FFmpeg's reason and the file's path.
    /// `PIPELINE_FFMPEG_LOG=warning` (or any `FFmpegLog.Level` name) keeps it at that level.
    static let configureLogging: Void = {
        let name = ProcessInfo.processInfo.environment["PIPELINE_FFMPEG_LOG"]?.lowercased()
        let levels: [String: FFmpegLog.Level] = [
            "quiet": .quiet, "panic": .panic, "fatal": .fatal, "error": .error, "warning": .warning,
            "info": .info, "verbose": .verbose, "debug": .debug,
        ]
        FFmpegLog.setLevel(name.flatMap { levels[$0] } ?? .quiet)
    }()

    /// The path on the input, or a per-item error saying what came instead.
    static func path(_ input: NodeInput) throws -> String {
        guard let path = input.value.stringValue else { throw NodeError("expected a path, got \(input.value.kindName)") }
        return path
    }

    /// The image on the input, or a per-item error saying what came instead.
    static func image(_ input: NodeInput) throws -> ImagePayload {
        guard let image = input.value.imagePayload else { throw NodeError("expected an image, got \(input.value.kindName)") }
        return image
    }

    /// A per-item error that names the file and, for FFmpeg failures, FFmpeg's reason.
    static func failure(_ error: any Error, path: String?) -> NodeError {
        if let media = error as? MediaError {
            guard media.path == nil, let path else { return NodeError(media.description) }
            return NodeError("\(path): \(media.description)")
        }
        if let node = error as? NodeError { return node }
        return NodeError(path.map { "\($0): \(error)" } ?? "\(error)")
    }

    /// Runs `body`, turning any error into a per-item `NodeError` that names `path`.
    static func attempt<T>(_ path: String?, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw failure(error, path: path)
        }
    }

    /// The aspect policy named by a `policy` option; `fill` is the padding gray level.
    static func policy(_ name: String, fill: Int) -> AspectPolicy {
        switch name {
        case "letterbox":
            let g = UInt8(clamping: fill)
            return .letterbox(fill: [g, g, g, 255])
        case "center-crop": return .centerCrop
        case "shorter-side": return .shorterSide
        default: return .stretch
        }
    }

    /// The interpolation named by an `algorithm` option (validated against `algorithms`).
    static func algorithm(_ name: String) -> ScaleAlgorithm {
        ScaleAlgorithm(rawValue: name) ?? .bilinear
    }
}
