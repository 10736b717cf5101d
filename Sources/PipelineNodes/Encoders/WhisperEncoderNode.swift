import Foundation
import PipelineCore
import PipelineModels

/// Encodes Whisper log-mel features (`audio.mel`, `[80, 3000]`) into the encoder's
/// `[1500, 384]` states (one row per 20 ms) with Whisper tiny.en.
///
/// With `pool: mean` it emits one `[384]` vector instead: the mean of the states of the frames
/// that hold sound. A 30 s window is padded with silence, whose log-mel frames sit at the
/// window's floor in every band; an encoder frame (two mel frames) counts when either of its
/// mel frames rises above that floor anywhere. A window with no such frame is averaged whole.
final class WhisperEncoderNode: PipelineNode {
    static let type = "encoder.whisper"
    static let summary = "Whisper audio encoder: [80, 3000] log-mel features to [1500, 384] states."
    static let inputs = [PortSpec("mel", .tensor, doc: "log-mel features from audio.mel, shape [80, 3000]")]
    static let outputs = [
        PortSpec("states", .any, doc: "encoder states, a [1500, 384] tensor; with pool: mean a [384] tensor, or a JSON number list with format: json")
    ]
    static let options = [
        OptionSpec("model", .string, default: "whisper-tiny.en", doc: "a name in the model folder, or a path to one"),
        OptionSpec("pool", .choice(["none", "mean"]), default: "none",
            doc: "mean: one [384] vector, the mean of the states of the frames holding sound (padding left out)"),
        OptionSpec("format", .choice(["payload", "json"]), default: "payload",
            doc: "with pool: mean, emit a tensor payload or a plain JSON number list"),
    ]
    static let example = """
        - id: encode
          type: encoder.whisper
          inputs: { mel: mel.mel }
        """

    private let model: WhisperModel
    private let modelName: String
    private let pool: Bool
    private let json: Bool

    init(options: Options, context: NodeContext) throws {
        modelName = options.string("model") ?? "whisper-tiny.en"
        model = try SharedSpeechModels.load(modelName)
        pool = options.string("pool") == "mean"
        json = options.string("format") == "json"
        if json && !pool { throw NodeError("format: json needs pool: mean (the full states are 576,000 numbers)") }
    }

    /// The mean of the rows of `states` (`[frames, width]`) whose mel frames hold sound.
    static func pooled(states: [Float], mel: [Float], bands: Int, melFrames: Int, frames: Int, width: Int) -> [Float] {
        let floor = mel.min() ?? 0
        var sound = [Bool](repeating: false, count: melFrames)
        for b in 0..<bands {
            for t in 0..<melFrames where mel[b * melFrames + t] > floor + 1e-6 { sound[t] = true }
        }
        let rows = (0..<frames).filter { i in (2 * i..<min(2 * i + 2, melFrames)).contains { sound[$0] } }
        let used = rows.isEmpty ? Array(0..<frames) : rows
        var mean = [Float](repeating: 0, count: width)
        for i in used {
            for j in 0..<width { mean[j] += states[i * width + j] }
        }
        let n = Float(used.count)
        return mean.map { $0 / n }
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        guard let tensor = input.value.tensorPayload else { throw NodeError("expected a tensor, got \(input.value.kindName)") }
        let c = model.config
        let expected = [c.melBands, 2 * c.audioContext]
        guard tensor.shape == expected, tensor.data.count == expected[0] * expected[1] else {
            throw NodeError("expected log-mel features of shape \(expected) (audio.mel), got \(tensor.shape)")
        }
        let states = model.encoder.encode(tensor.data)
        if pool {
            let mean = Self.pooled(
                states: states, mel: tensor.data, bands: expected[0], melFrames: expected[1], frames: c.audioContext, width: c.width)
            try output.emit(
                json ? Embedding(vector: mean, model: (modelName as NSString).lastPathComponent, path: tensor.path).json
                    : .payload(TensorPayload(shape: [c.width], data: mean, path: tensor.path, layout: "width")))
            return
        }
        try output.emit(.payload(TensorPayload(shape: [c.audioContext, c.width], data: states, path: tensor.path, layout: "frames×width")))
    }
}
