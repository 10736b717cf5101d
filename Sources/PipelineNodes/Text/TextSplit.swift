import PipelineCore

/// Cuts text into lines, paragraphs or fixed-size chunks, one packet each (sequence 0, 1, ...).
final class TextSplit: PipelineNode {
    static let type = "text.split"
    static let summary = "Splits text into lines, paragraphs or chunks of at most N characters."
    static let inputs = [PortSpec("text", .text)]
    static let outputs = [PortSpec("text", .text, doc: "one piece per packet; sequence numbers count pieces")]
    static let options = [
        OptionSpec("by", .choice(["lines", "paragraphs", "chars"]), default: "lines", doc: "how to cut"),
        OptionSpec("max_chars", .int, default: 1000, range: 1...1e9, doc: "piece size for `by: chars`"),
        OptionSpec("skip_empty", .bool, default: true, doc: "drop pieces that are empty or only whitespace"),
    ]

    private let by: String
    private let maxChars: Int
    private let skipEmpty: Bool

    init(options: Options, context: NodeContext) throws {
        by = options.string("by")!
        maxChars = options.int("max_chars")!
        skipEmpty = options.bool("skip_empty")!
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        guard let text = input.value.stringValue else { throw NodeError("expected text, got \(input.value.kindName)") }
        var sequence = 0
        for piece in split(text) where !(skipEmpty && piece.allSatisfy(\.isWhitespace)) {
            try output.emit(.string(piece), sequence: sequence)
            sequence += 1
        }
    }

    func split(_ text: String) -> [String] {
        switch by {
        case "paragraphs":
            var pieces: [String] = []
            var current: [Substring] = []
            for line in Self.lines(text) {
                if line.allSatisfy(\.isWhitespace) {
                    if !current.isEmpty { pieces.append(current.joined(separator: "\n")) }
                    current = []
                } else {
                    current.append(line)
                }
            }
            if !current.isEmpty { pieces.append(current.joined(separator: "\n")) }
            return pieces
        case "chars":
            var pieces: [String] = []
            var index = text.startIndex
            while index < text.endIndex {
                let end = text.index(index, offsetBy: maxChars, limitedBy: text.endIndex) ?? text.endIndex
                pieces.append(String(text[index..<end]))
                index = end
            }
            return pieces
        default:
            return Self.lines(text).map(String.init)
        }
    }

    /// Lines ended by LF or CRLF ("\r\n" is one Character in Swift, so split on both).
    static func lines(_ text: String) -> [Substring] {
        text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
    }
}
