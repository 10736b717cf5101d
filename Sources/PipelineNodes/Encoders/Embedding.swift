import PipelineCore

extension PortType {
    /// A fixed-width vector from an encoder (`encoder.text`); a JSON value, so sinks and JSON
    /// nodes accept it.
    public static let embedding = PortType(name: "embedding", parent: .json)
}

/// An embedding travelling through the graph: the vector, the model that made it, and the
/// text it encodes or the image file (and tile) it came from (so downstream nodes can report it).
public struct Embedding: Payload, Equatable {
    public let vector: [Float]
    /// The model folder's name (`all-MiniLM-L6-v2`).
    public let model: String
    public let text: String?
    /// The image file an image embedding was computed from.
    public let path: String?
    /// The tile index (`image.tiles`) an image embedding was computed from.
    public let tile: Int?

    public init(vector: [Float], model: String, text: String? = nil, path: String? = nil, tile: Int? = nil) {
        self.vector = vector
        self.model = model
        self.text = text
        self.path = path
        self.tile = tile
    }

    public var portType: PortType { .embedding }

    /// Model, width and the start of the text; the vector itself is written by `format: json`.
    public var summary: Value {
        var object: [String: Value] = ["model": .string(model), "dimension": .int(vector.count)]
        if let text { object["text"] = .string(text.count > 80 ? String(text.prefix(80)) + "…" : text) }
        if let path { object["path"] = .string(path) }
        if let tile { object["tile"] = .int(tile) }
        return .object(object)
    }

    /// The vector as a JSON number array (rounded to 7 significant digits, float precision).
    public var json: Value { .array(vector.map { .double(Double(Float($0).description) ?? Double($0)) }) }
}
