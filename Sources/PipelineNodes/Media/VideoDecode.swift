import PipelineCore
import PipelineMedia

/// Decodes the frames of a video file, sampled (all, fps or interval, every n-th, keyframes) within a
/// time range, and emits each selected frame as soon as it is decoded.
///
/// Frames are never collected: the decoder holds one output frame (plus its own reorder
/// delay), and the engine's bounded queues (8 frames on `image` edges) make the decoder wait
/// for a slow consumer, so memory stays bounded for any length of video. Run it with
/// `concurrency` 1 or `ordered: false`: ordered copies hold a later video's frames until the
/// earlier one is through.
final class VideoDecode: PipelineNode {
    static let type = "video.decode"
    static let summary = "Decodes video frames (all, N per second, every n-th or keyframes) as images, streaming."
    static let inputs = [PortSpec("path", .path)]
    static let outputs = [
        PortSpec("frame", .image, doc: "one frame per packet; sequence counts emitted frames, timestamp = pts in seconds"),
    ]
    static let options = [
        OptionSpec("fps", .double, default: 0.0, range: 0...1000,
            doc: "emit about this many frames per second: the first frame at or after each tick (0: off)"),
        OptionSpec("interval", .double, default: 0.0, range: 0...1e9,
            doc: "emit a frame every this many seconds: the same as fps = 1 / interval (0: off)"),
        OptionSpec("every", .int, default: 0, range: 0...1_000_000, doc: "emit every n-th frame: 0, n, 2n, … (0: off)"),
        OptionSpec("keyframes", .bool, default: false, doc: "emit only keyframes (the others are not even decoded: fast)"),
        OptionSpec("start", .double, default: 0.0, range: 0...1e9, doc: "first time to emit, in seconds (the decoder seeks there)"),
        OptionSpec("end", .double, default: 0.0, range: 0...1e9, doc: "stop at this time in seconds, exclusive (0: the end)"),
        OptionSpec("limit", .int, default: 0, range: 0...1e12, doc: "emit at most this many frames per file (0: no limit)"),
        OptionSpec("width", .int, default: 0, range: 0...65536, doc: "scale frames to this width (0: source; with height 0, keep aspect)"),
        OptionSpec("height", .int, default: 0, range: 0...65536, doc: "scale frames to this height (0: source; with width 0, keep aspect)"),
        OptionSpec("policy", .choice(MediaSupport.policies), default: "stretch", doc: "how to fit width×height when both are set"),
        OptionSpec("algorithm", .choice(MediaSupport.algorithms), default: "bilinear", doc: "swscale interpolation"),
        OptionSpec("orientation", .bool, default: true, doc: "rotate frames upright by the stream's display matrix (phone videos)"),
        OptionSpec("threads", .int, default: 0, range: 0...64, doc: "FFmpeg decoder threads (0: FFmpeg chooses, one per core)"),
    ]
    static let example = """
        - id: frames
          type: video.decode
          inputs: { path: src.path }
          with: { fps: 1, width: 320 }
        """

    private let decodeOptions: VideoDecodeOptions
    private let limit: Int
    private let orientation: Bool

    init(options: Options, context: NodeContext) throws {
        MediaSupport.configureLogging
        let interval = options.double("interval")!
        let fps = interval > 0 ? 1 / interval : options.double("fps")!
        let every = options.int("every")!, keyframes = options.bool("keyframes")!
        let chosen = [options.double("fps")! > 0 ? "fps" : nil, interval > 0 ? "interval" : nil, every > 0 ? "every" : nil, keyframes ? "keyframes" : nil].compactMap { $0 }
        guard chosen.count <= 1 else { throw NodeError("set only one of fps, interval, every and keyframes (got \(chosen.joined(separator: ", ")))") }
        let sampling: VideoSampling = fps > 0 ? .fps(fps) : every > 0 ? .everyNth(every) : keyframes ? .keyframes : .all
        let start = options.double("start")!, end = options.double("end")!
        guard end == 0 || end > start else { throw NodeError("end \(end) must be after start \(start)") }
        let width = options.int("width")!, height = options.int("height")!
        decodeOptions = VideoDecodeOptions(
            width: width == 0 ? nil : width, height: height == 0 ? nil : height,
            policy: MediaSupport.policy(options.string("policy")!, fill: 0),
            algorithm: MediaSupport.algorithm(options.string("algorithm")!), sampling: sampling,
            start: start > 0 ? start : nil, end: end > 0 ? end : nil, threads: options.int("threads")!)
        limit = options.int("limit")!
        orientation = options.bool("orientation")!
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        let path = try MediaSupport.path(input)
        let decoder = try MediaSupport.attempt(path) { try VideoDecoder(path: path, options: decodeOptions) }
        var emitted = 0
        while limit == 0 || emitted < limit, let frame = try MediaSupport.attempt(path, { try decoder.next() }) {
            let image = orientation ? decoder.orientation.apply(to: frame.image) : frame.image
            let payload = ImagePayload(image: image, path: path, pts: frame.pts, frameIndex: frame.decodedIndex,
                                       isKeyframe: frame.isKeyframe)
            try output.emit(.payload(payload), sequence: emitted, timestamp: frame.pts)
            emitted += 1
        }
    }
}
