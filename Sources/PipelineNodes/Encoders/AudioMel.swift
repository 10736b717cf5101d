import PipelineCore
import PipelineModels

/// Whisper's log-mel features of 16 kHz mono audio: one `[80, 3000]` tensor per 30-second
/// window (zero-padded, as Whisper's encoder takes), or with `pad: false` one `[80, frames]`
/// tensor of the whole packet (frames = samples / 160).
final class AudioMel: PipelineNode {
    static let type = "audio.mel"
    static let summary = "Whisper log-mel spectrogram (80 bands, 10 ms frames) of 16 kHz mono audio."
    static let inputs = [PortSpec("audio", .audio, doc: "16 kHz mono (audio.decode with sample_rate: 16000, channels: 1)")]
    static let outputs = [
        PortSpec("mel", .tensor, doc: "shape [80, frames]; one per 30 s window (sequence = window) unless pad is false")
    ]
    static let options = [
        OptionSpec("pad", .bool, default: true, doc: "cut into 30 s windows padded with silence (Whisper's input)")
    ]
    static let example = """
        - id: mel
          type: audio.mel
          inputs: { audio: decode.audio }
        """

    private let mel = WhisperMel()
    private let pad: Bool

    init(options: Options, context: NodeContext) throws {
        pad = options.bool("pad") ?? true
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        let (samples, start) = try speechSamples(input.value)
        let path = input.value.audioPayload?.path
        guard pad else {
            let (features, frames) = mel.logMel(samples)
            try output.emit(.payload(TensorPayload(shape: [mel.melBands, frames], data: features, path: path, layout: "mel×frames")))
            return
        }
        let windows = stride(from: 0, to: max(samples.count, 1), by: WhisperMel.windowSamples).map { $0 }
        for (i, offset) in windows.enumerated() {
            let chunk = samples[min(offset, samples.count)..<min(samples.count, offset + WhisperMel.windowSamples)]
            let features = mel.logMel(WhisperMel.window(chunk)).features
            try output.emit(
                .payload(TensorPayload(shape: [mel.melBands, WhisperMel.windowFrames], data: features, path: path, layout: "mel×frames")),
                sequence: windows.count > 1 ? i : nil,
                timestamp: start + Double(offset) / Double(WhisperMel.sampleRate))
        }
    }
}
