import PipelineCore

/// Gathers every value of an item into one record once the item is complete: the frames of
/// a video, the windows of a recording, the tiles of an image.
///
/// The scheduler says when nothing more of an item can arrive (see `ItemCollector`), so the
/// record is emitted as soon as each item is through, not at the end of the run. Values are
/// listed by sequence (arrival order among equal sequences). An item that fails elsewhere is
/// not emitted (the run reports its failure); an item that sends nothing here gives no record.
final class JSONCollect: PipelineNode, ItemCollector {
    static let type = "json.collect"
    static let summary = "Collects all values of an item into one list once the item is complete."
    static let inputs = [PortSpec("value", .any)]
    static let outputs = [PortSpec("record", .json, doc: "{ITEM_KEY: item id, KEY: [values]}, one per item, sequence 0")]
    static let options = [
        OptionSpec("key", .string, default: "items", doc: "field holding the list"),
        OptionSpec("item_key", .string, default: "item", doc: "field holding the item id (usually its path); empty leaves it out"),
        OptionSpec("timestamp_key", .string, default: "",
            doc: "when set, each element is {TIMESTAMP_KEY: packet timestamp, VALUE_KEY: value}"),
        OptionSpec("value_key", .string, default: "value", doc: "field of each element holding the value, with timestamp_key"),
        OptionSpec("limit", .int, default: 100_000, range: 1...100_000_000,
            doc: "most values per item; more fails the item (bounds memory)"),
    ]
    static let example = """
        - id: frames
          type: json.collect
          inputs: { value: labels.labels }
          with: { key: frames, timestamp_key: t, value_key: labels }
        """

    private let key: String
    private let itemKey: String
    private let timestampKey: String
    private let valueKey: String
    private let limit: Int
    /// Per item being gathered: (sequence, value) in arrival order.
    private var gathered: [Item: [(sequence: Int, value: Value)]] = [:]

    init(options: Options, context: NodeContext) throws {
        key = options.string("key")!
        itemKey = options.string("item_key")!
        timestampKey = options.string("timestamp_key")!
        valueKey = options.string("value_key")!
        limit = options.int("limit")!
        guard !key.isEmpty else { throw NodeError("option 'key' must not be empty") }
        guard key != itemKey else { throw NodeError("options 'key' and 'item_key' name the same field '\(key)'") }
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        guard let item = input.item else { return }
        var element = input.value
        if !timestampKey.isEmpty {
            element = .object([timestampKey: input.timestamp.map(Value.double) ?? .null, valueKey: element])
        }
        guard gathered[item]?.count ?? 0 < limit else {
            gathered[item] = nil
            throw NodeError("more than \(limit) values for one item (raise 'limit')")
        }
        // In place: a copy out and back would copy the list on every value.
        gathered[item, default: []].append((input.sequence, element))
    }

    func itemEnded(_ item: Item, failed: Bool, _ output: NodeOutput) throws {
        guard let list = gathered.removeValue(forKey: item), !failed else { return }
        // A stable sort: equal sequences keep their arrival order.
        let ordered = list.enumerated().sorted { ($0.element.sequence, $0.offset) < ($1.element.sequence, $1.offset) }
        var record: [String: Value] = [key: .array(ordered.map(\.element.value))]
        if !itemKey.isEmpty { record[itemKey] = .string(item.id) }
        try output.emit(.object(record))
    }
}
