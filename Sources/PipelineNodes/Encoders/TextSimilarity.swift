import Foundation
import PipelineCore
import PipelineModels

/// Scores a text or an embedding against reference texts and/or a stored index of embeddings
/// by cosine similarity and reports the best `top_k`.
///
/// The reference texts are embedded once, when the node starts, with the shared model (see
/// `encoder.text`); a query embedding must come from the same model. An index is a JSON-lines
/// file of embeddings as `sink.jsonl` writes them from `encoder.text` (`format: json`), so a
/// corpus is embedded once by one pipeline and searched by others.
final class TextSimilarity: PipelineNode {
    static let type = "text.similarity"
    static let summary = "Cosine similarity of a text or embedding with reference texts; the top k."
    static let inputs = [PortSpec("query", .json, doc: "an embedding (payload or number array) or a text")]
    static let outputs = [
        PortSpec("scores", .json, doc: "{text?, top: [{index, text?, item?, score}]}, best first")
    ]
    static let options = [
        OptionSpec("references", .strings, doc: "texts to compare with"),
        OptionSpec("index", .string,
            doc: "a JSON-lines file of stored embeddings (from encoder.text with format: json into sink.jsonl; "
                + "enveloped lines give their item, objects their text); searched after the references"),
        OptionSpec("top_k", .int, default: 3, range: 0...1e6, doc: "how many best references to report; 0 reports all"),
        OptionSpec("model", .string, default: "all-MiniLM-L6-v2", doc: "a name in the model folder, or a path to one"),
        OptionSpec("batch_size", .int, default: 32, range: 1...4096, doc: "references per forward pass at start"),
        SharedEncoders.precisionOption,
    ]
    static let example = """
        - id: near
          type: text.similarity
          inputs: { query: embed.embedding }
          with: { references: ["a lighthouse by the sea", "baking bread"], top_k: 1 }
        - id: search
          type: text.similarity
          inputs: { query: read.text }
          with: { index: out/corpus/embeddings.jsonl, top_k: 5 }
        """

    private let encoder: SentenceEncoder
    private let modelName: String
    /// The reference texts, then the index's entries.
    private let entries: [Entry]
    private let topK: Int

    struct Entry {
        let vector: [Float]
        let text: String?
        let item: String?
    }

    init(options: Options, context: NodeContext) throws {
        let model = options.string("model") ?? "all-MiniLM-L6-v2"
        let references = options.strings("references") ?? []
        let indexPath = options.string("index")
        guard !references.isEmpty || indexPath != nil else {
            throw NodeError("give references (texts) or an index (a file of embeddings) to compare with")
        }
        modelName = model.split(separator: "/").last.map(String.init) ?? model
        do {
            encoder = try SharedEncoders.encoder(at: try ModelLocator.resolve(model), precision: SharedEncoders.precision(options))
            let vectors = references.isEmpty ? [] : try encoder.embed(references, batchSize: options.int("batch_size") ?? 32)
            var entries = zip(vectors, references).map { Entry(vector: $0, text: $1, item: nil) }
            if let indexPath { entries += try Self.loadIndex(indexPath, dimension: encoder.dimension) }
            self.entries = entries
        } catch let error as NodeError {
            throw error
        } catch {
            throw NodeError("cannot embed the references with '\(model)': \(error)")
        }
        let k = options.int("top_k") ?? 3
        topK = k == 0 ? entries.count : min(k, entries.count)
    }

    /// Reads an index: one embedding per line, a number array either bare, as an envelope's
    /// `value` (its `item` and `sequence` kept), or as an object's `vector`/`embedding` (its
    /// `text`, `item` kept). Blank lines are skipped; anything else is an error at file:line.
    static func loadIndex(_ path: String, dimension: Int) throws -> [Entry] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw NodeError("cannot read the index \(path)")
        }
        var entries: [Entry] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            guard !line.allSatisfy(\.isWhitespace) else { continue }
            func fail(_ why: String) -> NodeError { NodeError("\(path):\(n + 1): \(why)") }
            guard let value = try? Value(jsonText: String(line)) else { throw fail("not JSON") }
            var numbers = value.arrayValue
            var label: String?, item: String?
            if case .object = value {
                numbers = (value["value"] ?? value["vector"] ?? value["embedding"])?.arrayValue
                label = value["text"]?.stringValue
                if let i = value["item"]?.stringValue {
                    item = value["sequence"]?.intValue.map { "\(i)#\($0)" } ?? i
                }
            }
            guard let numbers else { throw fail("expected a number array, or an object with one under value, vector or embedding") }
            let vector = try numbers.map { number -> Float in
                guard let d = number.doubleValue else { throw fail("expected numbers, found a \(number.kindName)") }
                return Float(d)
            }
            guard vector.count == dimension else {
                throw fail("the embedding has \(vector.count) numbers; this model's have \(dimension)")
            }
            entries.append(Entry(vector: vector, text: label, item: item))
        }
        guard !entries.isEmpty else { throw NodeError("the index \(path) holds no embeddings") }
        return entries
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        let (vector, text) = try query(input.value)
        guard vector.count == encoder.dimension else {
            throw NodeError("the query has \(vector.count) numbers; \(modelName) embeddings have \(encoder.dimension)")
        }
        let scores = entries.map { SentenceEncoder.cosine(vector, $0.vector) }
        let best = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }.prefix(topK)
        var record: [String: Value] = [
            "top": .array(best.map { i in
                var entry: [String: Value] = ["index": .int(i), "score": .double(Double(scores[i].description) ?? Double(scores[i]))]
                if let text = entries[i].text { entry["text"] = .string(text) }
                if let item = entries[i].item { entry["item"] = .string(item) }
                return .object(entry)
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
