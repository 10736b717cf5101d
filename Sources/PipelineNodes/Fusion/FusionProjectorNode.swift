import PipelineCore
import PipelineModels

/// LLaVA's two-layer MLP connector: each encoder token becomes one vector in the language
/// model's embedding space (`FusionProjector`). The vectors go to `llm.generate` as the
/// `prefix` of its prompt, where the chat template's user turn begins.
final class FusionProjectorNode: PipelineNode {
    static let type = "fusion.projector"
    static let summary = "Maps encoder tokens into an LLM's embedding space with a 2-layer MLP (LLaVA's mlp2x_gelu)."
    static let inputs = [PortSpec("tokens", .tensor, doc: "a [count, width] tensor: encoder.image or encoder.vit `tokens`")]
    static let outputs = [PortSpec("embeddings", .tensor, doc: "a [count, llm width] tensor: the prefix for llm.generate")]
    static let options = FusionNodeSupport.options
    static let example = """
        - id: fuse
          type: fusion.projector
          inputs: { tokens: encode.tokens }
          with: { weights: models/scene-projector.safetensors }
        """

    private let connector: any FusionConnector

    init(options: Options, context: NodeContext) throws {
        connector = try FusionNodeSupport.load(options, context) { try FusionProjector(path: $0) }
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        try output.emit(try FusionNodeSupport.apply(connector, to: input.value))
    }
}
