/// How chunk probabilities become speech segments: the parameters of silero-vad's
/// `get_speech_timestamps`, with its defaults.
public struct SpeechTimestampOptions: Sendable, Equatable {
    /// A chunk at or above this probability is speech.
    public var threshold: Double = 0.5
    /// Inside speech, a chunk below this is silence; nil: `max(threshold − 0.15, 0.01)`.
    public var negativeThreshold: Double?
    /// Segments not longer than this are dropped.
    public var minSpeechMilliseconds: Double = 250
    /// Segments longer than this are split: at the longest silence inside (over
    /// `minSilenceAtMaxSpeechMilliseconds`) if there is one, otherwise just before the limit.
    public var maxSpeechSeconds: Double = .infinity
    /// Silence inside speech must last this long to end a segment.
    public var minSilenceMilliseconds: Double = 100
    /// Added to both ends of every segment (halved where two segments are closer than twice this).
    public var speechPadMilliseconds: Double = 30
    public var minSilenceAtMaxSpeechMilliseconds: Double = 98
    /// At the maximum length, cut at the longest silence seen (true) or at the last one.
    public var useLongestSilenceAtMaxSpeech = true

    public init() {}
}

/// A stretch of speech in samples: `start..<end` at the model's rate.
public struct SpeechSegment: Sendable, Equatable {
    public var start: Int
    public var end: Int

    public init(start: Int, end: Int) {
        self.start = start
        self.end = end
    }
}

/// Silero VAD's segmentation (`get_speech_timestamps_from_probs` of silero-vad 6.2): a
/// hysteresis state machine over the chunk probabilities, then padding. Ported statement by
/// statement, Python's quirks included (a pending silence or cut recorded at sample 0
/// counts as none), so the same probabilities give the same samples.
public enum SpeechTimestamps {
    /// The speech segments of audio of `sampleCount` samples at 16 kHz whose 512-sample
    /// chunks have `probabilities`.
    public static func segments(
        probabilities: [Float], sampleCount: Int, options: SpeechTimestampOptions = SpeechTimestampOptions()
    ) -> [SpeechSegment] {
        let rate = Double(SileroVADModel.sampleRate), window = SileroVADModel.chunkSamples
        let minSpeech = rate * options.minSpeechMilliseconds / 1000
        let pad = rate * options.speechPadMilliseconds / 1000
        let maxSpeech = rate * options.maxSpeechSeconds - Double(window) - 2 * pad
        let minSilence = rate * options.minSilenceMilliseconds / 1000
        let minSilenceAtMax = rate * options.minSilenceAtMaxSpeechMilliseconds / 1000
        let threshold = options.threshold
        let negative = options.negativeThreshold ?? max(threshold - 0.15, 0.01)
        let longest = options.useLongestSilenceAtMaxSpeech

        var triggered = false
        var speeches: [SpeechSegment] = []
        var start: Int?  // the open segment (Python's current_speech)
        var tempEnd = 0, prevEnd = 0, nextStart = 0
        var possibleEnds: [(end: Int, duration: Int)] = []

        for (i, p) in probabilities.enumerated() {
            let probability = Double(p)
            let sample = window * i
            if probability >= threshold && tempEnd != 0 {
                let silence = sample - tempEnd
                if Double(silence) > minSilenceAtMax { possibleEnds.append((tempEnd, silence)) }
                tempEnd = 0
                if nextStart < prevEnd { nextStart = sample }
            }
            if probability >= threshold && !triggered {
                triggered = true
                start = sample
                continue
            }
            if triggered, let open = start, Double(sample - open) > maxSpeech {
                if longest, let cut = possibleEnds.max(by: { $0.duration < $1.duration }) {
                    // Python's max keeps the first of equal durations; so does max(by:) with `<`.
                    prevEnd = cut.end
                    speeches.append(SpeechSegment(start: open, end: prevEnd))
                    start = nil
                    nextStart = prevEnd + cut.duration
                    if nextStart < prevEnd + sample {
                        start = nextStart
                    } else {
                        triggered = false
                    }
                    prevEnd = 0; nextStart = 0; tempEnd = 0
                    possibleEnds = []
                } else if prevEnd != 0 {
                    speeches.append(SpeechSegment(start: open, end: prevEnd))
                    start = nil
                    if nextStart < prevEnd {
                        triggered = false
                    } else {
                        start = nextStart
                    }
                    prevEnd = 0; nextStart = 0; tempEnd = 0
                    possibleEnds = []
                } else {
                    speeches.append(SpeechSegment(start: open, end: sample))
                    start = nil
                    prevEnd = 0; nextStart = 0; tempEnd = 0
                    triggered = false
                    possibleEnds = []
                    continue
                }
            }
            if probability < negative && triggered {
                if tempEnd == 0 { tempEnd = sample }
                let silenceNow = sample - tempEnd
                if !longest && Double(silenceNow) > minSilenceAtMax { prevEnd = tempEnd }
                if Double(silenceNow) < minSilence { continue }
                if let open = start, Double(tempEnd - open) > minSpeech {
                    speeches.append(SpeechSegment(start: open, end: tempEnd))
                }
                start = nil
                prevEnd = 0; nextStart = 0; tempEnd = 0
                triggered = false
                possibleEnds = []
                continue
            }
        }
        if let open = start, Double(sampleCount - open) > minSpeech {
            speeches.append(SpeechSegment(start: open, end: sampleCount))
        }

        // Padding: Python's int() of non-negative floats truncates; `//` floors.
        for i in speeches.indices {
            if i == 0 { speeches[i].start = Int(max(0, Double(speeches[i].start) - pad)) }
            if i != speeches.count - 1 {
                let silence = speeches[i + 1].start - speeches[i].end
                if Double(silence) < 2 * pad {
                    let half = Int((Double(silence) / 2).rounded(.down))
                    speeches[i].end += half
                    speeches[i + 1].start = max(0, speeches[i + 1].start - half)
                } else {
                    speeches[i].end = Int(min(Double(sampleCount), Double(speeches[i].end) + pad))
                    speeches[i + 1].start = Int(max(0, Double(speeches[i + 1].start) - pad))
                }
            } else {
                speeches[i].end = Int(min(Double(sampleCount), Double(speeches[i].end) + pad))
            }
        }
        return speeches
    }
}
