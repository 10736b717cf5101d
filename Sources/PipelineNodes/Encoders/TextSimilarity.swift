import PipelineCore
import PipelineModels

/// Scores a text or an embedding against a fixed list of reference texts by cosine
/// similarity and reports the best `top_k`.
///
/// The references are embedded once, when the node starts, with the shared model (see
/// `encoder.text`); a query embedding must come from the same model.
final class TextSimilarity: PipelineNode {
    static let type = "text.similarity"
    static let summary = "Cosine similarity of a text or embedding with reference texts; the top k."
    static let inputs = [PortSpec("query", .json, doc: "an embedding (payload or number array) or a text")]
    static let outputs = [
        PortSpec("scores", .json, doc: "{text?, top: [{index, text, score}]}, best first")
    ]
    static let options = [
        OptionSpec("references", .strings, required: true, doc: "the texts to compare with"),
        OptionSpec("top_k", .int, default: 3, range: 0...1e6, doc: "how many best references to report; 0 reports all"),
        OptionSpec("model", .string, default: "all-MiniLM-L6-v2", doc: "a name in the model folder, or a path to one"),
        OptionSpec("batch_size", .int, default: 32, range: 1...4096, doc: "references per forward pass at start"),
    ]
    static let example = """
        - id: near
          type: text.similarity
          inputs: { query: embed.embedding }
          with: { references: ["a lighthouse by the sea", "baking bread"], top_k: 1 }
        """

    private let encoder: SentenceEncoder
    private let modelName: String
    private let references: [String]
    private let referenceVectors: [[Float]]
    private let topK: Int

    init(options: Options, context: NodeContext) throws {
        let model = options.string("model") ?? "all-MiniLM-L6-v2"
        references = options.strings("references") ?? []
        guard !references.isEmpty else { throw NodeError("references is empty: give at least one text") }
        modelName = model.split(separator: "/").last.map(String.init) ?? model
        do {
            encoder = try SharedEncoders.encoder(at: try ModelLocator.resolve(model))
            referenceVectors = try encoder.embed(references, batchSize: options.int("batch_size") ?? 32)
        } catch let error as NodeError {
            throw error
        } catch {
            throw NodeError("cannot embed the references with '\(model)': \(error)")
        }
        let k = options.int("top_k") ?? 3
        topK = k == 0 ? references.count : min(k, references.count)
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        let (vector, text) = try query(input.value)
        guard vector.count == encoder.dimension else {
            throw NodeError("the query has \(vector.count) numbers; \(modelName) embeddings have \(encoder.dimension)")
        }
        let scores = referenceVectors.map { SentenceEncoder.cosine(vector, $0) }
        let best = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }.prefix(topK)
        var record: [String: Value] = [
            "top": .array(best.map { i in
                ["index": .int(i), "text": .string(references[i]), "score": .double(Double(scores[i].description) ?? Double(scores[i]))]
            })
        ]
        if let text { record["text"] = .string(text) }
        try output.emit(.object(record))
    }

    /// The query's vector (embedding the text when a text comes in) and its text, if known.
    private func query(_ value: Value) throws -> ([Float], String?) {
        switch value {
        case .payload(let payload as Embedding):
            guard payload.model == modelName else {
                throw NodeError("the embedding comes from \(payload.model), but references are embedded with \(modelName)")
            }
            return (payload.vector, payload.text)
        case .string(let text):
            do {
                return (try encoder.embed(text), text)
            } catch {
                throw NodeError("\(modelName): \(error)")
            }
        case .array(let numbers):
            let vector = try numbers.map { number in
                guard let d = number.doubleValue else { throw NodeError("expected a number array, found a \(number.kindName)") }
                return Float(d)
            }
            return (vector, nil)
        default:
            throw NodeError("expected an embedding or a text, got \(value.kindName)")
        }
    }
}
