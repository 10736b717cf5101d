import Foundation
import PipelineTensor

/// Whisper's log-mel spectrogram, computed as `whisper.audio.log_mel_spectrogram` does.
///
/// 16 kHz mono samples; a 400-point STFT with a periodic Hann window every 160 samples, the
/// signal reflect-padded by 200 at both ends (`torch.stft(center=True)`); the power spectrum
/// through an 80-band Slaney mel filterbank (`librosa.filters.mel(sr=16000, n_fft=400,
/// n_mels=80)`, computed here, not shipped); `log10(max(x, 1e-10))`, floored at the global
/// maximum − 8, then `(x + 4) / 4`; the last frame dropped. The DFT is one matrix product of
/// the windowed frames with a 402 × 400 cosine/sine basis (exact enough, and fast on BLAS).
public struct WhisperMel: Sendable {
    public static let sampleRate = 16_000
    public static let fftSize = 400
    public static let hop = 160
    /// Samples in one 30-second window.
    public static let windowSamples = 480_000
    /// Frames in one 30-second window.
    public static let windowFrames = 3000
    public let melBands: Int
    /// `[melBands, 201]`, row-major.
    public let filters: [Float]
    /// `[402, 400]`: rows 0…200 are `w[n]·cos(2πkn/N)`, rows 201…401 `w[n]·sin(2πkn/N)`.
    private let basis: [Float]

    public init(melBands: Int = 80) {
        self.melBands = melBands
        filters = Self.melFilterbank(sampleRate: Double(Self.sampleRate), fftSize: Self.fftSize, bands: melBands)
        let n = Self.fftSize, bins = n / 2 + 1
        var basis = [Float](repeating: 0, count: 2 * bins * n)
        for k in 0..<bins {
            for t in 0..<n {
                let window = 0.5 - 0.5 * cos(2 * Double.pi * Double(t) / Double(n))
                let angle = 2 * Double.pi * Double((k * t) % n) / Double(n)
                basis[k * n + t] = Float(window * cos(angle))
                basis[(bins + k) * n + t] = Float(window * sin(angle))
            }
        }
        self.basis = basis
    }

    /// The log-mel features `[melBands, frames]` (row-major) of `samples`, where
    /// `frames = samples.count / 160` (the STFT's last frame dropped). Whisper's models take
    /// exactly 30 s: use `window(_:)` to pad or trim first.
    public func logMel(_ samples: [Float]) -> (features: [Float], frames: Int) {
        let n = Self.fftSize, bins = n / 2 + 1, pad = n / 2
        let frames = samples.count / Self.hop
        guard frames > 0 else { return ([], 0) }
        // Reflect padding as torch does (the edge sample is not repeated).
        let count = samples.count
        func sample(_ i: Int) -> Float {
            var j = i
            if j < 0 { j = -j }
            if j >= count { j = 2 * (count - 1) - j }
            return count == 1 ? samples[0] : samples[max(0, min(count - 1, j))]
        }
        var framed = [Float](repeating: 0, count: frames * n)
        for f in 0..<frames {
            let start = f * Self.hop - pad
            for t in 0..<n { framed[f * n + t] = sample(start + t) }
        }
        var spectrum = [Float](repeating: 0, count: frames * 2 * bins)
        framed.withUnsafeBufferPointer { a in
            basis.withUnsafeBufferPointer { b in
                spectrum.withUnsafeMutableBufferPointer { c in
                    BLAS.gemmTransposedB(
                        m: frames, n: 2 * bins, k: n, a: a.baseAddress!, lda: n, b: b.baseAddress!, ldb: n,
                        c: c.baseAddress!, ldc: 2 * bins)
                }
            }
        }
        var power = [Float](repeating: 0, count: frames * bins)
        for f in 0..<frames {
            for k in 0..<bins {
                let re = spectrum[f * 2 * bins + k], im = spectrum[f * 2 * bins + bins + k]
                power[f * bins + k] = re * re + im * im
            }
        }
        // mel[band, frame] = filters[band, :] · power[frame, :]
        var mel = [Float](repeating: 0, count: melBands * frames)
        filters.withUnsafeBufferPointer { a in
            power.withUnsafeBufferPointer { b in
                mel.withUnsafeMutableBufferPointer { c in
                    BLAS.gemmTransposedB(
                        m: melBands, n: frames, k: bins, a: a.baseAddress!, lda: bins, b: b.baseAddress!, ldb: bins,
                        c: c.baseAddress!, ldc: frames)
                }
            }
        }
        var top = -Float.infinity
        for i in mel.indices {
            let v = log10(max(mel[i], 1e-10))
            mel[i] = v
            top = max(top, v)
        }
        let floor = top - 8
        for i in mel.indices { mel[i] = (max(mel[i], floor) + 4) / 4 }
        return (mel, frames)
    }

    /// `samples` zero-padded or trimmed to exactly 30 s (`whisper.pad_or_trim`).
    public static func window(_ samples: ArraySlice<Float>) -> [Float] {
        var out = Array(samples.prefix(windowSamples))
        if out.count < windowSamples { out += [Float](repeating: 0, count: windowSamples - out.count) }
        return out
    }

    /// The Slaney-style mel filterbank librosa builds by default (`htk=False`, `norm="slaney"`):
    /// triangles between mel-spaced edges, each scaled by `2 / (upper − lower)` in Hz.
    public static func melFilterbank(sampleRate: Double, fftSize: Int, bands: Int) -> [Float] {
        let bins = fftSize / 2 + 1
        let fftFreqs = (0..<bins).map { Double($0) * sampleRate / Double(fftSize) }
        let lowMel = hzToMel(0), highMel = hzToMel(sampleRate / 2)
        let edges = (0..<(bands + 2)).map { melToHz(lowMel + (highMel - lowMel) * Double($0) / Double(bands + 1)) }
        var weights = [Float](repeating: 0, count: bands * bins)
        for m in 0..<bands {
            let lowDiff = edges[m + 1] - edges[m], highDiff = edges[m + 2] - edges[m + 1]
            let norm = 2 / (edges[m + 2] - edges[m])
            for k in 0..<bins {
                let lower = (fftFreqs[k] - edges[m]) / lowDiff
                let upper = (edges[m + 2] - fftFreqs[k]) / highDiff
                weights[m * bins + k] = Float(max(0, min(lower, upper)) * norm)
            }
        }
        return weights
    }

    /// Slaney's mel scale: linear below 1 kHz, logarithmic above.
    static func hzToMel(_ hz: Double) -> Double {
        let step = 200.0 / 3, minLogHz = 1000.0, logStep = log(6.4) / 27
        return hz >= minLogHz ? minLogHz / step + log(hz / minLogHz) / logStep : hz / step
    }

    static func melToHz(_ mel: Double) -> Double {
        let step = 200.0 / 3, minLogMel = 1000.0 / step, logStep = log(6.4) / 27
        return mel >= minLogMel ? 1000 * exp(logStep * (mel - minLogMel)) : mel * step
    }
}
