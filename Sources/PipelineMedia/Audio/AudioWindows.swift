/// One fixed-length window of audio, timestamped.
public struct AudioWindow: Sendable, Equatable {
    /// 0-based window number.
    public var index: Int
    /// The window's samples; `audio.startTime` is its timestamp in seconds.
    public var audio: AudioSamples
    /// Frames at the end that are zero padding (only in a padded last window).
    public var paddedFrames: Int
}

/// Cuts a decoded stream into fixed windows with overlap, streaming.
///
/// Window k starts at frame `k * hop`, where `hop = window - overlap`. Only
/// one window plus one decoded chunk is held in memory. What happens to a
/// last window the stream does not fill is set by `LastWindow`.
///
/// Not thread-safe: call it from one thread at a time. It is marked
/// `@unchecked Sendable` so that a node may hand it from one Dispatch
/// worker to the next between calls.
public final class AudioWindows: @unchecked Sendable {
    /// Handling of the final, incomplete window.
    public enum LastWindow: Sendable {
        /// Zero-pad it to full length.
        case pad
        /// Emit it shorter than the others.
        case partial
        /// Drop it.
        case drop
    }

    private let decoder: AudioDecoder
    /// Frames per window.
    public let windowFrames: Int
    /// Frames between window starts.
    public let hopFrames: Int
    private let last: LastWindow
    private var pending: [Float] = []
    private var pendingStart = 0
    private var skip = 0
    private var coveredUntil = 0
    private var eof = false
    private var index = 0
    private var finished = false

    /// Windows of `windowFrames` frames every `hopFrames` frames.
    public init(decoder: AudioDecoder, windowFrames: Int, hopFrames: Int, last: LastWindow = .pad) throws {
        guard windowFrames > 0, hopFrames > 0 else {
            throw MediaError.invalidArgument("window \(windowFrames) hop \(hopFrames) frames")
        }
        self.decoder = decoder
        self.windowFrames = windowFrames
        self.hopFrames = hopFrames
        self.last = last
    }

    /// Windows of `seconds` with `overlap` seconds shared by neighbours (`0 ≤ overlap < seconds`).
    public convenience init(decoder: AudioDecoder, seconds: Double, overlap: Double = 0, last: LastWindow = .pad) throws {
        guard seconds.isFinite, seconds > 0, seconds < 1e7, overlap >= 0, overlap < seconds else {
            throw MediaError.invalidArgument("window \(seconds)s overlap \(overlap)s")
        }
        let w = Int((seconds * Double(decoder.sampleRate)).rounded())
        let o = Int((overlap * Double(decoder.sampleRate)).rounded())
        try self.init(decoder: decoder, windowFrames: w, hopFrames: max(1, w - o), last: last)
    }

    /// The next window, or nil when the stream is exhausted.
    public func next() throws -> AudioWindow? {
        if finished { return nil }
        let ch = decoder.channels
        while pending.count / ch < windowFrames && !eof {
            guard let chunk = try decoder.next() else {
                eof = true
                break
            }
            var s = chunk.samples[...]
            if skip > 0 {
                let n = min(skip, chunk.frameCount)
                s = s.dropFirst(n * ch)
                skip -= n
                pendingStart += n
            }
            pending.append(contentsOf: s)
        }
        let have = pending.count / ch
        if have >= windowFrames {
            return emit(frames: windowFrames, padding: 0)
        }
        finished = true
        // End of stream: the remainder, if it holds frames no window covered yet.
        guard have > 0, pendingStart + have > coveredUntil || index == 0 else { return nil }
        switch last {
        case .drop: return nil
        case .partial: return emit(frames: have, padding: 0)
        case .pad:
            pending.append(contentsOf: repeatElement(0, count: (windowFrames - have) * ch))
            return emit(frames: windowFrames, padding: windowFrames - have)
        }
    }

    private func emit(frames: Int, padding: Int) -> AudioWindow {
        let ch = decoder.channels
        let audio = AudioSamples(samples: Array(pending[0..<(frames * ch)]), sampleRate: decoder.sampleRate,
                                 channels: ch, startFrame: pendingStart)
        let w = AudioWindow(index: index, audio: audio, paddedFrames: padding)
        index += 1
        coveredUntil = pendingStart + frames - padding
        let have = pending.count / ch
        if hopFrames <= have {
            pending.removeFirst(hopFrames * ch)
        } else {
            skip = hopFrames - have
            pending.removeAll(keepingCapacity: true)
        }
        pendingStart += min(hopFrames, have)
        return w
    }
}
