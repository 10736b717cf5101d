import Foundation
import PipelineCore

/// Reads a text file.
final class TextRead: PipelineNode {
    static let type = "text.read"
    static let summary = "Reads a UTF-8 text file."
    static let inputs = [PortSpec("path", .path)]
    static let outputs = [PortSpec("text", .text)]
    static let options = [
        OptionSpec("max_bytes", .int, default: 16_777_216, range: 1...1e12, doc: "fail files larger than this"),
        OptionSpec("invalid_utf8", .choice(["fail", "replace"]), default: "fail",
            doc: "bytes that are not UTF-8: fail the item, or replace them with U+FFFD"),
    ]

    private let maxBytes: Int
    private let replace: Bool

    init(options: Options, context: NodeContext) throws {
        maxBytes = options.int("max_bytes")!
        replace = options.string("invalid_utf8") == "replace"
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        guard let path = input.value.stringValue else { throw NodeError("expected a path, got \(input.value.kindName)") }
        let data = try FileContents.read(path, maxBytes: maxBytes)
        if let text = String(validating: data, as: UTF8.self) {
            try output.emit(.string(text))
        } else if replace {
            try output.emit(.string(String(decoding: data, as: UTF8.self)))
        } else {
            throw NodeError("\(path) is not valid UTF-8 text")
        }
    }
}
