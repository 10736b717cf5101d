import Foundation
import Yams

// Phase 1, parse: libyaml's errors and marks turned into located diagnostics.
extension LoadPass {
    static func diagnostic(for error: YamlError, file: String) -> Diagnostic {
        func loc(_ mark: Yams.Mark) -> SourceLocation { SourceLocation(file: file, line: mark.line, column: mark.column) }
        switch error {
        case let .scanner(context, problem, mark, yaml), let .parser(context, problem, mark, yaml),
            let .composer(context, problem, mark, yaml):
            let ctx = context.map { " \($0.text)" } ?? ""
            var hint = context.map { "the construct began at \(loc($0.mark))" }
            if character(in: yaml, at: mark) == "\t" {
                hint = "YAML indents with spaces; replace the tab" + (hint.map { " (\($0))" } ?? "")
            }
            return Diagnostic(loc(mark), "invalid YAML: \(problem)\(ctx)", hint: hint)
        case let .reader(problem, offset, _, yaml):
            var line = 1, column = 1
            if let offset {
                // Count as libyaml does: CR, LF, CRLF, NEL, LS and PS end lines; columns are code points.
                for ch in yaml.prefix(offset) {
                    if ["\n", "\r", "\r\n", "\u{85}", "\u{2028}", "\u{2029}"].contains(ch) {
                        line += 1
                        column = 1
                    } else {
                        column += ch.unicodeScalars.count
                    }
                }
            }
            return Diagnostic(SourceLocation(file: file, line: line, column: column), "invalid YAML: \(problem)")
        case let .duplicatedKeysInMapping(duplicates, context):
            let message = "duplicate key\(duplicates.count == 1 ? "" : "s") "
                + duplicates.map { "'\($0)'" }.joined(separator: ", ") + " in one mapping"
            // Yams marks the first occurrence; point at the repeat, as editors do.
            if let key = duplicates.first, let repeated = repeatedKey(key, firstAt: context.mark, in: context.text) {
                return Diagnostic(loc(repeated), message,
                    hint: "'\(key)' is first defined at \(loc(context.mark)); each key may appear once in a mapping")
            }
            return Diagnostic(loc(context.mark), message, hint: "this is the first occurrence; each key may appear once in a mapping")
        default:
            return Diagnostic(SourceLocation(file: file, line: 1, column: 1), "invalid YAML: \(error)")
        }
    }

    /// Where `key` appears again in the mapping whose key at `first` it repeats: the text is
    /// composed again with that first key renamed (same length, so marks stay put).
    static func repeatedKey(_ key: String, firstAt first: Yams.Mark, in text: String) -> Yams.Mark? {
        var scalars = Array(text.unicodeScalars)
        guard var offset = offset(of: first, in: scalars) else { return nil }
        if scalars[offset] == "\"" || scalars[offset] == "'" { offset += 1 }
        let keyScalars = Array(key.unicodeScalars)
        guard !keyScalars.isEmpty, scalars[offset...].starts(with: keyScalars) else { return nil }
        scalars[offset] = "\u{E000}"
        var renamed = String.UnicodeScalarView()
        renamed.append(contentsOf: scalars)
        guard let root = try? Yams.compose(yaml: String(renamed)) else { return nil }

        func isFirst(_ node: Yams.Node) -> Bool { node.mark?.line == first.line && node.mark?.column == first.column }
        func search(_ node: Yams.Node) -> Yams.Mark? {
            switch node {
            case .mapping(let mapping):
                if mapping.keys.contains(where: isFirst) {
                    return mapping.keys.first { !isFirst($0) && $0.string == key }?.mark
                }
                for (k, v) in mapping {
                    if let found = search(k) ?? search(v) { return found }
                }
                return nil
            case .sequence(let sequence):
                for item in sequence {
                    if let found = search(item) { return found }
                }
                return nil
            case .scalar, .alias:
                return nil
            }
        }
        return search(root)
    }

    /// The index of the code point at a libyaml mark (1-based line and column; CR, LF, CRLF,
    /// NEL, LS and PS end lines), or nil when the mark is past the end.
    static func offset(of mark: Yams.Mark, in scalars: [Unicode.Scalar]) -> Int? {
        var line = 1, column = 1, offset = 0
        while offset < scalars.count, (line, column) != (mark.line, mark.column) {
            let s = scalars[offset]
            if s == "\r", offset + 1 < scalars.count, scalars[offset + 1] == "\n" { offset += 1 }
            if ["\n", "\r", "\u{85}", "\u{2028}", "\u{2029}"].contains(s) {
                line += 1
                column = 1
            } else {
                column += 1
            }
            offset += 1
        }
        return offset < scalars.count ? offset : nil
    }

    /// The character at a libyaml mark, if any.
    static func character(in text: String, at mark: Yams.Mark) -> Unicode.Scalar? {
        let scalars = Array(text.unicodeScalars)
        return offset(of: mark, in: scalars).map { scalars[$0] }
    }
}
