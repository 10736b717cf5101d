import PipelineCore
import PipelineModels

/// Encodes text into a sentence embedding with a BERT sentence-transformers model
/// (all-MiniLM-L6-v2 by default: 384 numbers, L2-normalised).
///
/// The model is loaded once per process and shared by every copy (`concurrency: N` does
/// not load N copies). A list of texts is embedded `batch_size` at a time and gives one
/// packet per text (sequence 0, 1, ...).
final class TextEncoder: PipelineNode {
    static let type = "encoder.text"
    static let summary = "Embeds text with a sentence-transformers BERT model (all-MiniLM-L6-v2)."
    static let inputs = [PortSpec("text", .json, doc: "a text, or a list of texts")]
    static let outputs = [
        PortSpec("embedding", .embedding, doc: "an embedding payload, or a JSON number array with `format: json`")
    ]
    static let options = [
        OptionSpec("model", .string, default: "all-MiniLM-L6-v2", doc: "a name in the model folder, or a path to one"),
        OptionSpec("batch_size", .int, default: 32, range: 1...4096, doc: "texts per forward pass when a list comes in"),
        OptionSpec("normalize", .bool, default: true, doc: "L2-normalise the embedding (as the model is trained to be used)"),
        OptionSpec("format", .choice(["payload", "json"]), default: "payload",
            doc: "emit an embedding payload (model, text, vector) or a plain JSON number array"),
        SharedEncoders.precisionOption,
    ]
    static let example = """
        - id: embed
          type: encoder.text
          inputs: { text: read.text }
          with: { model: all-MiniLM-L6-v2 }
        """

    private let encoder: SentenceEncoder
    private let modelName: String
    private let batchSize: Int
    private let normalize: Bool
    private let json: Bool

    init(options: Options, context: NodeContext) throws {
        let model = options.string("model") ?? "all-MiniLM-L6-v2"
        do {
            encoder = try SharedEncoders.encoder(at: try ModelLocator.resolve(model), precision: SharedEncoders.precision(options))
        } catch let error as NodeError {
            throw error
        } catch {
            throw NodeError("cannot load model '\(model)': \(error)")
        }
        modelName = model.split(separator: "/").last.map(String.init) ?? model
        batchSize = options.int("batch_size") ?? 32
        normalize = options.bool("normalize") ?? true
        json = options.string("format") == "json"
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        let texts: [String]
        switch input.value {
        case .string(let text):
            texts = [text]
        case .array(let values):
            texts = try values.map { value in
                guard let text = value.stringValue else { throw NodeError("expected a list of texts, found a \(value.kindName) in it") }
                return text
            }
        default:
            throw NodeError("expected text or a list of texts, got \(input.value.kindName)")
        }
        let vectors: [[Float]]
        do {
            vectors = try encoder.embed(texts, batchSize: batchSize, normalize: normalize)
        } catch {
            throw NodeError("\(modelName): \(error)")
        }
        let single = input.value.stringValue != nil
        for (i, vector) in vectors.enumerated() {
            let embedding = Embedding(vector: vector, model: modelName, text: texts[i])
            try output.emit(json ? embedding.json : .payload(embedding), sequence: single ? nil : i)
        }
    }
}
