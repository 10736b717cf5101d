import Yams

/// Turns YAML nodes into values with their source locations.
enum YAMLValue {
    /// The location of a YAML node (1-based), or the fallback when libyaml gave none.
    static func location(_ node: Yams.Node?, file: String, fallback: SourceLocation? = nil) -> SourceLocation {
        if let mark = node?.mark { return SourceLocation(file: file, line: mark.line, column: mark.column) }
        return fallback ?? SourceLocation(file: file, line: 1, column: 1)
    }

    /// Interprets a plain scalar as null, bool, int or float per the YAML core schema;
    /// quoted scalars are always strings.
    static func scalar(_ s: Yams.Node.Scalar) -> Value {
        let text = s.string
        guard s.style == .plain || s.style == .any else { return .string(text) }
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        default: break
        }
        if let i = parseInt(text) { return .int(i) }
        if let d = parseFloat(text) { return .double(d) }
        return .string(text)
    }

    static func parseInt(_ text: String) -> Int? {
        var t = Substring(text)
        var sign = 1
        if t.first == "-" || t.first == "+" {
            sign = t.first == "-" ? -1 : 1
            t = t.dropFirst()
        }
        guard !t.isEmpty else { return nil }
        if t.hasPrefix("0x"), let v = Int(t.dropFirst(2), radix: 16) { return sign * v }
        if t.hasPrefix("0o"), let v = Int(t.dropFirst(2), radix: 8) { return sign * v }
        guard t.allSatisfy({ $0.isASCII && $0.isNumber || $0 == "_" }), let v = Int(t.replacing("_", with: "")) else {
            return nil
        }
        return sign * v
    }

    static func parseFloat(_ text: String) -> Double? {
        switch text.lowercased() {
        case ".inf", "+.inf": return .infinity
        case "-.inf": return -.infinity
        case ".nan": return .nan
        default: break
        }
        guard text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }),
            text.allSatisfy({ "0123456789+-.eE_".contains($0) }), text.contains(where: \.isNumber)
        else { return nil }
        return Double(text.replacing("_", with: ""))
    }
}
