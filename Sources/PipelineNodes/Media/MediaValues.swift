import PipelineCore
import PipelineMedia

extension PortType {
    /// A decoded picture (`ImagePayload`): a still image, a video frame or a tile.
    ///
    /// Edges carrying it hold 8 packets by default: a 1080p RGB frame is 6 MB, so a queue
    /// of the run-wide 512 could hold gigabytes.
    public static let image = PortType(name: "image", queueCapacity: 8)
    /// A chunk or window of float32 PCM audio (`AudioPayload`).
    public static let audio = PortType(name: "audio", queueCapacity: 8)
    /// A float tensor with a shape (`TensorPayload`), such as a normalised CHW image.
    public static let tensor = PortType(name: "tensor", queueCapacity: 8)
}

/// Where a tile came from in the grid `image.tiles` cut.
public struct TilePosition: Sendable, Equatable {
    /// 0-based tile number in row-major order; the thumbnail comes last, at `columns * rows`.
    public var index: Int
    /// Grid row and column; nil for the thumbnail.
    public var row: Int?
    public var column: Int?
    /// The grid's size.
    public var columns: Int
    public var rows: Int
    /// True for the global view of the whole image appended after the tiles.
    public var isThumbnail: Bool { row == nil }

    public init(index: Int, row: Int?, column: Int?, columns: Int, rows: Int) {
        self.index = index
        self.row = row
        self.column = column
        self.columns = columns
        self.rows = rows
    }
}

/// A decoded image travelling through the graph: its pixels and where they came from.
///
/// In JSON (a `sink.jsonl` record, an error message) only a summary appears: size,
/// pixel format, source path and timestamp, never the pixels.
public struct ImagePayload: Payload, Equatable {
    /// The pixels (8-bit gray, RGB or RGBA, packed rows).
    public var image: Image
    /// The file the image was decoded from.
    public var path: String?
    /// Presentation time in seconds, for video frames.
    public var pts: Double?
    /// The frame's 0-based number among all decoded frames, for video frames.
    public var frameIndex: Int?
    /// Whether the video frame was a keyframe.
    public var isKeyframe: Bool?
    /// The tile's place in the grid, for `image.tiles` output.
    public var tile: TilePosition?

    public init(image: Image, path: String? = nil, pts: Double? = nil, frameIndex: Int? = nil,
                isKeyframe: Bool? = nil, tile: TilePosition? = nil) {
        self.image = image
        self.path = path ?? image.source?.path
        self.pts = pts
        self.frameIndex = frameIndex
        self.isKeyframe = isKeyframe
        self.tile = tile
    }

    public var portType: PortType { .image }

    /// FFmpeg-style name of the pixel layout: `gray`, `ya8`, `rgb24` or `rgba`.
    public var format: String { Self.formatName(channels: image.channels) }

    static func formatName(channels: Int) -> String {
        switch channels {
        case 1: return "gray"
        case 2: return "ya8"
        case 3: return "rgb24"
        case 4: return "rgba"
        default: return "\(channels)ch"
        }
    }

    public var summary: Value {
        var fields: [String: Value] = [
            "width": .int(image.width), "height": .int(image.height), "format": .string(format),
        ]
        if let path { fields["path"] = .string(path) }
        if let pts { fields["pts"] = .double(pts) }
        if let frameIndex { fields["frame"] = .int(frameIndex) }
        if let isKeyframe { fields["keyframe"] = .bool(isKeyframe) }
        if let tile {
            var t: [String: Value] = ["index": .int(tile.index), "columns": .int(tile.columns), "rows": .int(tile.rows)]
            if let row = tile.row, let column = tile.column {
                t["row"] = .int(row)
                t["column"] = .int(column)
            } else {
                t["thumbnail"] = true
            }
            fields["tile"] = .object(t)
        }
        return .object(fields)
    }

    public static func == (lhs: ImagePayload, rhs: ImagePayload) -> Bool {
        lhs.image == rhs.image && lhs.path == rhs.path && lhs.pts == rhs.pts && lhs.frameIndex == rhs.frameIndex
            && lhs.isKeyframe == rhs.isKeyframe && lhs.tile == rhs.tile
    }
}

/// A chunk of interleaved float32 PCM audio, timestamped.
///
/// `audio.startTime` (seconds from the start of the stream) is also the packet's timestamp.
/// In JSON only the rate, channels, frame count, start and duration appear.
public struct AudioPayload: Payload, Equatable {
    /// The samples, interleaved, with rate, channel count and start frame.
    public var audio: AudioSamples
    /// The file the audio was decoded from.
    public var path: String?
    /// 0-based window number, for windowed output.
    public var window: Int?
    /// Zero frames appended to fill a last, short window.
    public var paddedFrames: Int

    public init(audio: AudioSamples, path: String? = nil, window: Int? = nil, paddedFrames: Int = 0) {
        self.audio = audio
        self.path = path
        self.window = window
        self.paddedFrames = paddedFrames
    }

    public var portType: PortType { .audio }

    /// Start time in seconds.
    public var startTime: Double { audio.startTime }

    public var summary: Value {
        var fields: [String: Value] = [
            "sample_rate": .int(audio.sampleRate), "channels": .int(audio.channels), "frames": .int(audio.frameCount),
            "start": .double(audio.startTime), "duration": .double(audio.duration),
        ]
        if let path { fields["path"] = .string(path) }
        if let window { fields["window"] = .int(window) }
        if paddedFrames > 0 { fields["padded_frames"] = .int(paddedFrames) }
        return .object(fields)
    }
}

/// A dense float32 tensor: a shape and row-major values (e.g. `[3, 224, 224]`, CHW).
///
/// In JSON only the shape, element type and source appear, never the values.
public struct TensorPayload: Payload, Equatable {
    /// Dimensions, outermost first.
    public var shape: [Int]
    /// Row-major values; `data.count` is the product of `shape`.
    public var data: [Float]
    /// The file the values were computed from.
    public var path: String?
    /// How the dimensions are laid out, e.g. `CHW`.
    public var layout: String?

    public init(shape: [Int], data: [Float], path: String? = nil, layout: String? = nil) {
        self.shape = shape
        self.data = data
        self.path = path
        self.layout = layout
    }

    public var portType: PortType { .tensor }

    public var summary: Value {
        var fields: [String: Value] = ["shape": .array(shape.map { .int($0) }), "dtype": "float32"]
        if let path { fields["path"] = .string(path) }
        if let layout { fields["layout"] = .string(layout) }
        return .object(fields)
    }
}

extension Value {
    /// The image this value carries, if it is one.
    public var imagePayload: ImagePayload? {
        if case .payload(let p) = self { return p as? ImagePayload }
        return nil
    }

    /// The audio this value carries, if it is some.
    public var audioPayload: AudioPayload? {
        if case .payload(let p) = self { return p as? AudioPayload }
        return nil
    }

    /// The tensor this value carries, if it is one.
    public var tensorPayload: TensorPayload? {
        if case .payload(let p) = self { return p as? TensorPayload }
        return nil
    }
}
