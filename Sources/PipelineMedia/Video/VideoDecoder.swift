import CFFmpeg

/// Options for decoding video frames.
public struct VideoDecodeOptions: Sendable {
    /// Output width; nil keeps the source width (or follows `height` with the aspect ratio).
    public var width: Int?
    /// Output height; nil keeps the source height (or follows `width` with the aspect ratio).
    public var height: Int?
    /// How the frame is fitted to `width`×`height` when both are given
    /// (stretch by default, as `-vf scale=W:H`; see `ResizePlan`).
    public var policy: AspectPolicy
    /// Output pixel layout (RGB24 by default).
    public var layout: PixelLayout
    /// Interpolation for scaling and pixel-format conversion.
    public var algorithm: ScaleAlgorithm
    /// Which frames to return.
    public var sampling: VideoSampling
    /// First presentation time to return, in seconds (the decoder seeks there).
    public var start: Double?
    /// Presentation time at which to stop (exclusive), in seconds.
    public var end: Double?
    /// FFmpeg decoder threads: 0 lets FFmpeg choose (one per core), 1 disables threading.
    public var threads: Int
    /// swscale slice threads for scaling each frame (1 = on the calling thread).
    /// The ffmpeg CLI's scale filter uses one per core; output is identical.
    public var scaleThreads: Int

    /// Fail on the first decode error instead of skipping damaged packets.
    /// Off by default for video: streams cut mid-GOP (MPEG-TS, camera files)
    /// report errors for their first frames and are still worth decoding.
    public var strict: Bool

    /// Creates options. Defaults: source size, RGB24, bilinear, all frames, whole file, 0 threads, tolerant.
    public init(width: Int? = nil, height: Int? = nil, policy: AspectPolicy = .stretch, layout: PixelLayout = .rgb,
                algorithm: ScaleAlgorithm = .bilinear, sampling: VideoSampling = .all,
                start: Double? = nil, end: Double? = nil, threads: Int = 0, scaleThreads: Int = 1,
                strict: Bool = false) {
        self.strict = strict
        self.scaleThreads = scaleThreads
        self.width = width
        self.height = height
        self.policy = policy
        self.layout = layout
        self.algorithm = algorithm
        self.sampling = sampling
        self.start = start
        self.end = end
        self.threads = threads
    }
}

/// Streaming video decoder: frames of any FFmpeg-decodable video, sampled,
/// timestamped and scaled with swscale.
///
/// `next()` decodes until it has the next selected frame and returns it; at
/// most one output frame plus the decoder's own reorder/thread delay is held,
/// so memory is bounded on any length of video, and a slow consumer simply
/// stops pulling (back-pressure). Frames that are not selected are never
/// scaled, and with `.keyframes` never decoded.
///
/// Not thread-safe: call it from one thread at a time. It is marked
/// `@unchecked Sendable` so that a node may hand it from one Dispatch
/// worker to the next between calls.
public final class VideoDecoder: @unchecked Sendable {
    /// The file being decoded.
    public let path: String
    /// Source width in pixels.
    public let sourceWidth: Int
    /// Source height in pixels.
    public let sourceHeight: Int
    /// Output width.
    public let width: Int
    /// Output height.
    public let height: Int
    /// The scale and crop/pad applied to each frame.
    public let plan: ResizePlan
    /// FFmpeg decoder name (e.g. `h264`, `vp9`, `mjpeg`).
    public let codecName: String
    /// Average frame rate of the stream, when known.
    public let frameRate: Double?
    /// Duration in seconds (stream, else container), when known.
    public let duration: Double?
    /// Frame count the container declares (0 when unknown).
    public let declaredFrameCount: Int
    /// Display orientation from the stream's display matrix (phone videos).
    /// Frames are returned as stored; apply it with `orientation.apply(to: frame.image)`.
    public let orientation: ImageOrientation

    private let options: VideoDecodeOptions
    private let reader: StreamReader
    private let frame = Frame()
    private var scaler: Scaler?
    private var decodedCount = 0
    private var selectedCount = 0
    private var keptCount = 0
    private var nextTick: Double?
    private var done = false
    private var producedAny = false

    /// Opens the best video stream of `path`.
    /// - Throws: `MediaError` (missing file, no video stream, no decoder, bad option).
    public init(path: String, options: VideoDecodeOptions = VideoDecodeOptions()) throws {
        if let w = options.width, w <= 0 { throw MediaError.invalidArgument("width \(w)") }
        if let h = options.height, h <= 0 { throw MediaError.invalidArgument("height \(h)") }
        if case .fps(let f) = options.sampling, !(f > 0 && f.isFinite) { throw MediaError.invalidArgument("fps \(f)") }
        if case .everyNth(let n) = options.sampling, n <= 0 { throw MediaError.invalidArgument("every \(n)th frame") }
        if let s = options.start, let e = options.end, e <= s { throw MediaError.invalidArgument("time range \(s)..<\(e)") }
        if let s = options.start, !s.isFinite { throw MediaError.invalidArgument("start \(s)") }
        let keyOnly = options.sampling == .keyframes
        reader = try StreamReader(path: path, kind: .video, threads: options.threads) { ctx in
            if keyOnly { ctx.pointee.skip_frame = AVDISCARD_NONKEY }
        }
        reader.keyframesOnly = keyOnly
        reader.strict = options.strict
        self.path = path
        self.options = options
        let par = reader.stream.pointee.codecpar.pointee
        sourceWidth = Int(par.width)
        sourceHeight = Int(par.height)
        guard sourceWidth > 0, sourceHeight > 0 else {
            throw MediaError.decodeFailed(path: path, code: FFmpegCode.invalidData, message: "video stream has no size")
        }
        switch (options.width, options.height) {
        case let (w?, h?):
            let p = try ResizePlan(sourceWidth: sourceWidth, sourceHeight: sourceHeight, width: w, height: h, policy: options.policy)
            (width, height) = (p.outputWidth, p.outputHeight)
        case let (w?, nil): (width, height) = (w, max(1, Int((Double(w) * Double(par.height) / Double(par.width)).rounded())))
        case let (nil, h?): (width, height) = (max(1, Int((Double(h) * Double(par.width) / Double(par.height)).rounded())), h)
        case (nil, nil): (width, height) = (sourceWidth, sourceHeight)
        }
        if let w = options.width, let h = options.height {
            plan = try ResizePlan(sourceWidth: sourceWidth, sourceHeight: sourceHeight, width: w, height: h, policy: options.policy)
        } else {
            plan = try ResizePlan(sourceWidth: sourceWidth, sourceHeight: sourceHeight, width: width, height: height, policy: .stretch)
        }
        codecName = reader.decoder.codecName
        let st = reader.stream.pointee
        frameRate = st.avg_frame_rate.den != 0 && st.avg_frame_rate.num != 0
            ? Double(st.avg_frame_rate.num) / Double(st.avg_frame_rate.den) : nil
        duration = seconds(st.duration, st.time_base) ?? reader.demuxer.duration
        declaredFrameCount = Int(st.nb_frames)
        var rotation = 0.0
        var hflip: Int32 = 0
        orientation = cffmpeg_display_matrix(nil, reader.stream, &rotation, &hflip) != 0
            ? ImageOrientation(rotationDegrees: rotation, hflip: hflip != 0) : .up
        if let s = options.start, s > 0 {
            reader.seek(to: s)
            nextTick = s
        }
    }

    /// The next selected frame, or nil at the end of the stream or range.
    /// - Throws: `MediaError.decodeFailed` when the stream is too damaged to go
    ///   on, or ended without any decodable frame.
    public func next() throws -> VideoFrame? {
        while !done {
            guard try reader.next(into: frame) else {
                done = true
                if !producedAny && decodedCount == 0 { throw reader.noFrameError() }
                return nil
            }
            let index = decodedCount
            decodedCount += 1
            let pts = seconds(frame.bestEffortTimestamp, reader.timeBase)
            if let p = pts {
                if let s = options.start, p < s - 1e-6 { continue }
                if let e = options.end, p >= e - 1e-9 {
                    done = true
                    return nil
                }
            }
            selectedCount += 1
            guard select(pts: pts) else { continue }
            let s = try Scaler.reusing(scaler, frame: frame, dstWidth: plan.scaledWidth, dstHeight: plan.scaledHeight,
                                       dstFormat: options.layout.avFormat.rawValue, algorithm: options.algorithm,
                                       threads: options.scaleThreads, path: path)
            scaler = s
            let pixels = try s.scale(frame: frame, channels: options.layout.channels)
            producedAny = true
            keptCount += 1
            let scaledImage = Image(width: plan.scaledWidth, height: plan.scaledHeight,
                                    channels: options.layout.channels, pixels: pixels)
            let image = plan.finish(scaledImage)
            return VideoFrame(image: image, pts: pts, decodedIndex: index, isKeyframe: frame.isKeyframe)
        }
        return nil
    }

    /// Whether the frame passing the time range (the `selectedCount`-th) is returned.
    private func select(pts: Double?) -> Bool {
        switch options.sampling {
        case .all, .keyframes:
            return options.sampling == .all || frame.isKeyframe
        case .everyNth(let n):
            return (selectedCount - 1) % n == 0
        case .fps(let fps):
            guard let p = pts else { return (selectedCount - 1) == 0 }
            let step = 1 / fps
            if nextTick == nil { nextTick = p }
            guard p >= nextTick! - 1e-6 else { return false }
            // Advance to the first tick after this frame (in O(1): damaged
            // timestamps can jump by years), so each tick takes the first
            // frame at or after it.
            let ticks = ((p + 1e-6 - nextTick!) / step).rounded(.down) + 1
            nextTick! += max(1, ticks) * step
            return true
        }
    }

    /// Number of frames returned so far.
    public var returnedCount: Int { keptCount }
    /// Number of frames decoded so far (selected or not).
    public var decodedFrameCount: Int { decodedCount }
}
