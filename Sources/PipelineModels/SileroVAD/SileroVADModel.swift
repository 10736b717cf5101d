import Foundation
import PipelineTensor

/// Silero VAD v6 at 16 kHz on the CPU: one speech probability per 512-sample chunk (32 ms),
/// as the silero-vad package's model gives when `get_speech_timestamps` feeds it chunk by
/// chunk.
///
/// Each chunk is prefixed with the last 64 samples before it (zeros for the first), reflect-
/// padded by 64 at the end (640 samples), cut into four 256-sample frames every 128 and
/// multiplied with the fixed 258 × 256 STFT basis (real and imaginary parts of 129 bins);
/// the magnitudes go through four convolutions (kernel 3, padding 1, strides 1, 2, 2, 1,
/// each with ReLU) down to one 128-vector, an LSTM cell whose state runs on from chunk to
/// chunk, then ReLU, a 1 × 1 convolution and a sigmoid. The last chunk is zero-padded.
///
/// Only the LSTM depends on earlier chunks, so the STFT and the convolutions of a block of
/// chunks are a few matrix products (OpenBLAS `sgemm`, im2col for the convolutions); the
/// recurrence is then one 512 × 128 matrix–vector product per chunk. Blocks of
/// `blockChunks` keep memory flat on long audio. Immutable after load: one instance serves
/// any number of threads.
public final class SileroVADModel: Sendable {
    public static let sampleRate = 16_000
    /// Samples per chunk: one probability each.
    public static let chunkSamples = 512
    /// Samples of the previous chunk prepended to each chunk.
    public static let contextSamples = 64
    /// Chunks whose STFT and convolutions run as one batch.
    static let blockChunks = 256
    static let fftSize = 256
    static let hop = 128
    static let bins = fftSize / 2 + 1
    static let framesPerChunk = 4
    static let hidden = 128

    public let path: String
    /// `[258, 256]`: rows 0…128 the real parts, 129…257 the imaginary parts of the DFT.
    let basis: [Float]
    let convs: [SileroVADConv]
    /// `[512, 128]` each; gate order input, forget, cell, output (PyTorch's LSTMCell).
    let inputWeight: [Float]
    let hiddenWeight: [Float]
    /// `bias_ih + bias_hh`.
    let gateBias: [Float]
    let outputWeight: [Float]
    let outputBias: Float

    /// The model file in a model folder (scripts/fetch-models writes `silero-vad/model.safetensors`).
    public convenience init(folder: URL) throws {
        try self.init(path: folder.appendingPathComponent("model.safetensors").path)
    }

    /// Loads the 16 kHz model's tensors under the TorchScript module's names
    /// (`stft.forward_basis_buffer`, `encoder.N.reparam_conv.*`, `decoder.rnn.*`,
    /// `decoder.decoder.2.*`); each is checked for presence and shape.
    public init(path: String) throws {
        let file = try SafetensorsFile(path: path)
        self.path = path
        basis = try file.floats("stft.forward_basis_buffer", shape: [2 * Self.bins, 1, Self.fftSize])
        let shapes = [(Self.bins, 128, 1), (128, 64, 2), (64, 64, 2), (64, 128, 1)]
        convs = try shapes.enumerated().map { i, shape in
            try SileroVADConv(file, name: "encoder.\(i).reparam_conv", inChannels: shape.0, outChannels: shape.1, stride: shape.2)
        }
        let h = Self.hidden
        inputWeight = try file.floats("decoder.rnn.weight_ih", shape: [4 * h, h])
        hiddenWeight = try file.floats("decoder.rnn.weight_hh", shape: [4 * h, h])
        let biasIH = try file.floats("decoder.rnn.bias_ih", shape: [4 * h])
        let biasHH = try file.floats("decoder.rnn.bias_hh", shape: [4 * h])
        gateBias = zip(biasIH, biasHH).map { $0 + $1 }
        outputWeight = try file.floats("decoder.decoder.2.weight", shape: [1, h, 1])
        outputBias = try file.floats("decoder.decoder.2.bias", shape: [1])[0]
    }

    /// The number of chunks (and probabilities) for `sampleCount` samples.
    public static func chunks(forSamples sampleCount: Int) -> Int {
        (sampleCount + chunkSamples - 1) / chunkSamples
    }

    /// The speech probability of every 512-sample chunk of 16 kHz mono `samples`, starting
    /// from a fresh state (`ceil(count / 512)` values; none for empty audio).
    public func probabilities(_ samples: [Float]) -> [Float] {
        let total = Self.chunks(forSamples: samples.count)
        var result: [Float] = []
        result.reserveCapacity(total)
        var state = SileroVADState()
        samples.withUnsafeBufferPointer { audio in
            var first = 0
            while first < total {
                let count = min(Self.blockChunks, total - first)
                let features = encode(audio, firstChunk: first, chunks: count)
                result += recur(features, chunks: count, state: &state)
                first += count
            }
        }
        return result
    }

    /// STFT magnitudes and the four convolutions of chunks `firstChunk..<firstChunk+chunks`:
    /// `[chunks, 128]` features.
    func encode(_ audio: UnsafeBufferPointer<Float>, firstChunk: Int, chunks: Int) -> [Float] {
        let n = Self.fftSize, frames = chunks * Self.framesPerChunk
        let width = Self.contextSamples + Self.chunkSamples  // 576
        // Sample j of chunk c's input is audio[c·512 − 64 + j]: zero before the start and
        // after the end (the last chunk's padding); 576…639 reflect 574…511.
        func sample(_ index: Int) -> Float { index >= 0 && index < audio.count ? audio[index] : 0 }
        var framed = [Float](repeating: 0, count: frames * n)
        var input = [Float](repeating: 0, count: width + Self.contextSamples)
        for c in 0..<chunks {
            let origin = (firstChunk + c) * Self.chunkSamples - Self.contextSamples
            for j in 0..<width { input[j] = sample(origin + j) }
            for j in 0..<Self.contextSamples { input[width + j] = input[width - 2 - j] }
            for f in 0..<Self.framesPerChunk {
                let row = (c * Self.framesPerChunk + f) * n
                for t in 0..<n { framed[row + t] = input[f * Self.hop + t] }
            }
        }
        var spectrum = [Float](repeating: 0, count: frames * 2 * Self.bins)
        framed.withUnsafeBufferPointer { a in
            basis.withUnsafeBufferPointer { b in
                spectrum.withUnsafeMutableBufferPointer { s in
                    BLAS.gemmTransposedB(
                        m: frames, n: 2 * Self.bins, k: n, a: a.baseAddress!, lda: n, b: b.baseAddress!, ldb: n,
                        c: s.baseAddress!, ldc: 2 * Self.bins)
                }
            }
        }
        var x = [Float](repeating: 0, count: frames * Self.bins)
        for f in 0..<frames {
            for k in 0..<Self.bins {
                let re = spectrum[f * 2 * Self.bins + k], im = spectrum[f * 2 * Self.bins + Self.bins + k]
                x[f * Self.bins + k] = (re * re + im * im).squareRoot()
            }
        }
        var length = Self.framesPerChunk
        for conv in convs { (x, length) = conv(x, sequences: chunks, length: length) }
        return x  // length is 1: [chunks, 128]
    }

    /// The LSTM cell over `chunks` feature rows, continuing `state`, and the decoder: one
    /// probability per chunk.
    func recur(_ features: [Float], chunks: Int, state: inout SileroVADState) -> [Float] {
        let h = Self.hidden, g = 4 * h
        // Input contributions of every chunk at once: [chunks, 512] = features · W_ihᵀ + biases.
        var gates = [Float](repeating: 0, count: chunks * g)
        features.withUnsafeBufferPointer { f in
            inputWeight.withUnsafeBufferPointer { w in
                gates.withUnsafeMutableBufferPointer { out in
                    BLAS.gemmTransposedB(
                        m: chunks, n: g, k: h, a: f.baseAddress!, lda: h, b: w.baseAddress!, ldb: h,
                        c: out.baseAddress!, ldc: g)
                    gateBias.withUnsafeBufferPointer { b in EncoderOps.addBias(out.baseAddress!, rows: chunks, cols: g, bias: b.baseAddress!) }
                }
            }
        }
        var probabilities = [Float](repeating: 0, count: chunks)
        gates.withUnsafeMutableBufferPointer { gates in
            hiddenWeight.withUnsafeBufferPointer { w in
                for t in 0..<chunks {
                    let row = gates.baseAddress! + t * g
                    // row += W_hh · h
                    state.h.withUnsafeBufferPointer { hv in
                        BLAS.gemv(m: g, n: h, a: w.baseAddress!, lda: h, x: hv.baseAddress!, beta: 1, y: row)
                    }
                    var logit = outputBias
                    for j in 0..<h {
                        let i = sigmoid(row[j]), f = sigmoid(row[h + j])
                        let cell = tanhf(row[2 * h + j]), o = sigmoid(row[3 * h + j])
                        let c = f * state.c[j] + i * cell
                        state.c[j] = c
                        let hj = o * tanhf(c)
                        state.h[j] = hj
                        logit += outputWeight[j] * max(hj, 0)
                    }
                    probabilities[t] = sigmoid(logit)
                }
            }
        }
        return probabilities
    }

    @inline(__always)
    private func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }
}

/// The recurrent state carried from chunk to chunk: the LSTM's hidden and cell vectors.
struct SileroVADState {
    var h = [Float](repeating: 0, count: SileroVADModel.hidden)
    var c = [Float](repeating: 0, count: SileroVADModel.hidden)
}
