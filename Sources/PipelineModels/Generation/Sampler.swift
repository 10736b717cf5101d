import CKernels
import Foundation

/// How the next token is chosen. `temperature == 0` is greedy (argmax, lowest id on ties).
public struct SamplingOptions: Sendable, Equatable {
    public var temperature: Float = 0
    /// Keep the k most likely tokens (0: all).
    public var topK: Int = 0
    /// Keep the smallest set whose probability reaches p (1: all).
    public var topP: Float = 1
    /// Drop tokens whose probability is below min_p × the top probability (0: none).
    public var minP: Float = 0
    /// Divide positive logits (multiply negative ones) of recently seen tokens by this (1: off).
    public var repetitionPenalty: Float = 1
    /// How many of the last tokens the penalty looks at.
    public var repetitionWindow: Int = 64
    public var seed: UInt64 = 0

    public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, minP: Float = 0,
                repetitionPenalty: Float = 1, repetitionWindow: Int = 64, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.repetitionPenalty = repetitionPenalty
        self.repetitionWindow = repetitionWindow
        self.seed = seed
    }

    /// A message for the first option out of range, or nil.
    public var problem: String? {
        if !(temperature >= 0) || !temperature.isFinite { return "temperature must be ≥ 0, got \(temperature)" }
        if topK < 0 { return "top_k must be ≥ 0, got \(topK)" }
        if !(topP > 0 && topP <= 1) { return "top_p must be in (0, 1], got \(topP)" }
        if !(minP >= 0 && minP < 1) { return "min_p must be in [0, 1), got \(minP)" }
        if !(repetitionPenalty > 0) || !repetitionPenalty.isFinite { return "repeat_penalty must be > 0, got \(repetitionPenalty)" }
        if repetitionWindow < 0 { return "repeat_last_n must be ≥ 0, got \(repetitionWindow)" }
        return nil
    }
}

/// Picks tokens from logits: repetition penalty, then greedy or temperature with top-k,
/// top-p and min-p filters, drawing from a seeded generator so a seed repeats a run.
public struct Sampler: Sendable {
    public let options: SamplingOptions
    private var rng: SplitMix64

    public init(_ options: SamplingOptions) {
        self.options = options
        rng = SplitMix64(seed: options.seed)
    }

    public mutating func next(_ logits: [Float], history: [Int]) -> Int {
        var logits = logits
        if options.repetitionPenalty != 1 {
            for token in Set(history.suffix(options.repetitionWindow)) where logits.indices.contains(token) {
                logits[token] = logits[token] > 0 ? logits[token] / options.repetitionPenalty : logits[token] * options.repetitionPenalty
            }
        }
        if options.temperature == 0 { return Self.argmax(logits) }
        // Candidates sorted by logit, highest first.
        var candidates = logits.indices.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
        if options.topK > 0 && options.topK < candidates.count { candidates.removeSubrange(options.topK...) }
        let top = logits[candidates[0]]
        var probs = candidates.map { expf((logits[$0] - top) / options.temperature) }
        var total = probs.reduce(0, +)
        if options.minP > 0 {
            let keep = probs.prefix { $0 / probs[0] >= options.minP }.count
            candidates.removeSubrange(max(1, keep)...)
            probs.removeSubrange(max(1, keep)...)
            total = probs.reduce(0, +)
        }
        if options.topP < 1 {
            var cumulative: Float = 0
            var keep = probs.count
            for (n, p) in probs.enumerated() {
                cumulative += p / total
                if cumulative >= options.topP {
                    keep = n + 1
                    break
                }
            }
            candidates.removeSubrange(keep...)
            probs.removeSubrange(keep...)
            total = probs.reduce(0, +)
        }
        var r = Float(rng.nextUnit()) * total
        for (n, p) in probs.enumerated() {
            r -= p
            if r < 0 { return candidates[n] }
        }
        return candidates[candidates.count - 1]
    }

    /// The first index of the largest logit (`if logits[i] > logits[best] { best = i }` from 0;
    /// CKernels' pl_argmax, vectorized).
    public static func argmax(_ logits: [Float]) -> Int {
        logits.withUnsafeBufferPointer { $0.isEmpty ? 0 : Int(pl_argmax($0.baseAddress!, Int32($0.count))) }
    }
}

/// A small, fast, seedable generator (SplitMix64), the same sequence on every platform.
struct SplitMix64: Sendable {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
