import PipelineCore
import PipelineModels

/// Encodes Whisper log-mel features (`audio.mel`, `[80, 3000]`) into the encoder's
/// `[1500, 384]` states (one row per 20 ms) with Whisper tiny.en.
final class WhisperEncoderNode: PipelineNode {
    static let type = "encoder.whisper"
    static let summary = "Whisper audio encoder: [80, 3000] log-mel features to [1500, 384] states."
    static let inputs = [PortSpec("mel", .tensor, doc: "log-mel features from audio.mel, shape [80, 3000]")]
    static let outputs = [PortSpec("states", .tensor, doc: "encoder states, shape [1500, 384]")]
    static let options = [
        OptionSpec("model", .string, default: "whisper-tiny.en", doc: "a name in the model folder, or a path to one")
    ]
    static let example = """
        - id: encode
          type: encoder.whisper
          inputs: { mel: mel.mel }
        """

    private let model: WhisperModel

    init(options: Options, context: NodeContext) throws {
        model = try SharedSpeechModels.load(options.string("model") ?? "whisper-tiny.en")
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        guard let tensor = input.value.tensorPayload else { throw NodeError("expected a tensor, got \(input.value.kindName)") }
        let c = model.config
        let expected = [c.melBands, 2 * c.audioContext]
        guard tensor.shape == expected, tensor.data.count == expected[0] * expected[1] else {
            throw NodeError("expected log-mel features of shape \(expected) (audio.mel), got \(tensor.shape)")
        }
        let states = model.encoder.encode(tensor.data)
        try output.emit(.payload(TensorPayload(shape: [c.audioContext, c.width], data: states, path: tensor.path, layout: "frames×width")))
    }
}
