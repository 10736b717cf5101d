/// Interleaved float32 PCM with its rate, channel count and position.
public struct AudioSamples: Sendable, Equatable {
    /// Interleaved samples: frame i channel c at `samples[i * channels + c]`.
    public var samples: [Float]
    /// Frames per second.
    public var sampleRate: Int
    /// Channels per frame.
    public var channels: Int
    /// Index of the first frame, counted from the first decoded output frame.
    public var startFrame: Int

    /// Creates a buffer.
    public init(samples: [Float], sampleRate: Int, channels: Int, startFrame: Int = 0) {
        self.samples = samples
        self.sampleRate = sampleRate
        self.channels = channels
        self.startFrame = startFrame
    }

    /// Number of frames (samples per channel).
    public var frameCount: Int { channels > 0 ? samples.count / channels : 0 }
    /// Start time in seconds from the first decoded sample.
    public var startTime: Double { Double(startFrame) / Double(sampleRate) }
    /// Duration in seconds.
    public var duration: Double { Double(frameCount) / Double(sampleRate) }
}
