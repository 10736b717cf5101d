import PipelineCore
import PipelineModels

/// A Perceiver-style resampler: learned queries cross-attend to the encoder tokens (pre-norm
/// layers, optional Flamingo tanh gates), so any number of tokens — one image, several
/// `image.tiles` tiles, a larger input — becomes the same number of vectors in the language
/// model's embedding space (`FusionResampler`).
final class FusionResamplerNode: PipelineNode {
    static let type = "fusion.resampler"
    static let summary = "Maps encoder tokens to a fixed number of LLM embeddings with learned cross-attending queries."
    static let inputs = [PortSpec("tokens", .tensor, doc: "a [count, width] tensor: encoder.image or encoder.vit `tokens`")]
    static let outputs = [PortSpec("embeddings", .tensor, doc: "a [queries, llm width] tensor: the prefix for llm.generate")]
    static let options = FusionNodeSupport.options + [
        OptionSpec("heads", .int, default: 0, range: 0...1024, doc: "attention heads (0: the weights' `heads` metadata)"),
    ]
    static let example = """
        - id: fuse
          type: fusion.resampler
          inputs: { tokens: encode.tokens }
          with: { weights: models/resampler.safetensors }
        """

    private let connector: any FusionConnector

    init(options: Options, context: NodeContext) throws {
        let heads = options.int("heads") ?? 0
        connector = try FusionNodeSupport.load(options, context) { try FusionResampler(path: $0, heads: heads == 0 ? nil : heads) }
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        try output.emit(try FusionNodeSupport.apply(connector, to: input.value))
    }
}
