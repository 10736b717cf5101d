import Foundation
import PipelineCore
import PipelineModels

/// What `fusion.projector` and `fusion.resampler` share: the options that name the weights and
/// the models on either side, the width checks made when the node is built, and turning a
/// `tokens` tensor into an `embeddings` tensor.
enum FusionNodeSupport {
    static let options = [
        OptionSpec("weights", .string, required: true,
            doc: "a .safetensors file: a path (relative to the pipeline file, else to the working directory) or a file name in the model folder"),
        OptionSpec("llm", .string, default: "SmolLM2-135M-Instruct.Q4_1.gguf",
            doc: "the GGUF model the vectors are for: its embedding width must be the connector's output width (empty: no check)"),
        OptionSpec("encoder", .string, default: "efficientnet-lite0",
            doc: "the encoder.image model whose tokens come in: its token width must be the connector's input width (empty: no check)"),
        OptionSpec("encoder_tokens", .choice(ImageTokenKind.names), default: "head",
            doc: "the `tokens:` option of that encoder.image node: head (1280 wide for Lite0), stride16 (448) or stride16-unmerged (112)"),
    ]

    /// The weights' path from the option: absolute as given; else relative to the pipeline file,
    /// else to the working directory, else a file name in the model folder.
    static func path(_ option: String, _ context: NodeContext) -> String {
        let fm = FileManager.default
        if option.hasPrefix("/") { return option }
        if fm.fileExists(atPath: context.pipelineDirectory + "/" + option) { return context.pipelineDirectory + "/" + option }
        if option.contains("/") { return option }
        return ModelLocator.folder + "/" + option
    }

    /// Loads the connector with `make` and checks it against the LLM and encoder the options
    /// name: a mismatch fails the run before any item, naming both shapes.
    static func load(_ options: Options, _ context: NodeContext, _ make: (String) throws -> any FusionConnector) throws -> any FusionConnector {
        let path = path(options.string("weights")!, context)
        let connector: any FusionConnector
        do {
            connector = try make(path)
        } catch {
            throw NodeError("\(error)")
        }
        if let llm = options.string("llm"), !llm.isEmpty {
            var name = llm
            if name.contains("/") && !name.hasPrefix("/") { name = context.pipelineDirectory + "/" + name }
            let model = try LoadedModel.shared(path: LoadedModel.resolve(name))
            if let problem = connector.widthProblem(model: (model.path as NSString).lastPathComponent, width: model.model.width) {
                throw NodeError(problem.description)
            }
        }
        if let encoder = options.string("encoder"), !encoder.isEmpty {
            let image = try SharedImageModels.load(encoder)
            let kind = ImageTokenKind(option: options.string("encoder_tokens"))
            guard let width = kind.width(of: image.network) else {
                throw NodeError("encoder.image's \(image.name) has no stride-16 map (encoder_tokens: \(kind.rawValue))")
            }
            let source = "encoder.image's \(image.name)" + (kind == .head ? "" : " (tokens: \(kind.rawValue))")
            if let problem = connector.tokenProblem(source: source, width: width) {
                throw NodeError(problem.description)
            }
        }
        return connector
    }

    /// `tokens` ([count, width] tensor) through the connector, as an `[n, width]` tensor.
    static func apply(_ connector: any FusionConnector, to value: Value) throws -> Value {
        guard let tensor = value.tensorPayload else {
            throw NodeError("expected a tokens tensor (encoder.image or encoder.vit `tokens`), got \(value.kindName)")
        }
        guard tensor.shape.count == 2, tensor.shape[0] > 0, tensor.shape[1] > 0, tensor.data.count == tensor.shape[0] * tensor.shape[1] else {
            throw NodeError("expected tokens of shape [count, width], got \(tensor.shape)")
        }
        let out: [Float]
        do {
            if let problem = connector.tokenProblem(source: tensor.path.map { "the tokens of \($0)" } ?? "the input", width: tensor.shape[1]) {
                throw problem
            }
            out = try connector(tensor.data, count: tensor.shape[0])
        } catch let error as FusionError {
            throw NodeError(error.description.replacingOccurrences(of: "[-1, ", with: "[\(tensor.shape[0]), "))
        }
        return .payload(TensorPayload(
            shape: [connector.outputCount(tokens: tensor.shape[0]), connector.outputWidth], data: out, path: tensor.path, layout: "NC"))
    }
}
