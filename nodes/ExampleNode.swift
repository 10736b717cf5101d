import PipelineCore

/// A template for your own node: counts words in text.
///
/// Copy this file, rename the class and `type`, and rebuild: every class in `nodes/`
/// that conforms to `PipelineNode` is registered automatically.
final class WordCount: PipelineNode {
    static let type = "example.word_count"
    static let summary = "Counts the words of a text (a template for custom nodes)."
    static let inputs = [PortSpec("text", .text, doc: "text to count")]
    static let outputs = [PortSpec("record", .json, doc: "{ words, characters }")]
    static let options = [
        OptionSpec("min_length", .int, default: 1, range: 1...100, doc: "shortest run of letters that counts as a word")
    ]

    private let minLength: Int

    init(options: Options, context: NodeContext) throws {
        minLength = options.int("min_length")!
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        guard let text = input.value.stringValue else { throw NodeError("expected text, got \(input.value.kindName)") }
        let words = text.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).filter { $0.count >= minLength }
        try output.emit(["words": .int(words.count), "characters": .int(text.count)])
    }
}
