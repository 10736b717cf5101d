import Foundation
import PipelineCore

/// Reads a JSON file (one value) or a JSON Lines file (one value per line).
///
/// A `.jsonl` / `.ndjson` file emits one packet per non-blank line, in order, with the line's
/// index as the packet sequence; a line that is not JSON fails the item with `file:line`.
/// Any other extension is read as one JSON document.
final class JSONRead: PipelineNode {
    static let type = "json.read"
    static let summary = "Reads a .json file as one value, or a .jsonl file as one packet per line."
    static let inputs = [PortSpec("path", .path)]
    static let outputs = [PortSpec("value", .json, doc: "the parsed value (one per line for .jsonl)")]
    static let options = [
        OptionSpec("format", .choice(["auto", "json", "jsonl"]), default: "auto",
            doc: "auto: .jsonl and .ndjson are JSON Lines, anything else one JSON document"),
        OptionSpec("max_bytes", .int, default: 268_435_456, range: 1...1e12, doc: "fail files larger than this"),
    ]
    static let example = """
        - id: scenes
          type: json.read
          inputs: { path: src.path }
        """

    private let format: String
    private let maxBytes: Int

    init(options: Options, context: NodeContext) throws {
        format = options.string("format")!
        maxBytes = options.int("max_bytes")!
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        guard let path = input.value.stringValue else { throw NodeError("expected a path, got \(input.value.kindName)") }
        let data = try FileContents.read(path, maxBytes: maxBytes)
        let ext = (path as NSString).pathExtension.lowercased()
        let lines = format == "jsonl" || (format == "auto" && (ext == "jsonl" || ext == "ndjson"))
        if lines {
            for (index, value) in try Self.parseLines(data, path: path).enumerated() {
                try output.emit(value, sequence: index)
            }
        } else {
            try output.emit(try Self.parse(data, path: path))
        }
    }

    /// One JSON document; an error names the file and, where the parser says, line and column.
    static func parse(_ data: Data, path: String) throws -> Value {
        do {
            return try JSONDecoder().decode(Value.self, from: data)
        } catch {
            throw NodeError("\(path): not valid JSON: \(reason(error))")
        }
    }

    /// One value per non-blank line; the first bad line fails with `path:line`.
    static func parseLines(_ data: Data, path: String) throws -> [Value] {
        var values: [Value] = []
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let trimmed = line.drop(while: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D })
            if trimmed.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            do {
                values.append(try JSONDecoder().decode(Value.self, from: Data(line)))
            } catch {
                throw NodeError("\(path):\(lineNumber): not valid JSON: \(reason(error))")
            }
        }
        return values
    }

    /// The parser's own words for a decoding error, without Foundation's generic preamble.
    static func reason(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            if let underlying = context.underlyingError {
                let text = (underlying as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
                return text ?? context.debugDescription
            }
            return context.debugDescription
        }
        return String(describing: error)
    }
}
