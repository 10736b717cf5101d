import Foundation

/// A JSON value that keeps what schema compilation needs and Foundation loses: object keys in
/// their written order, and numbers as their literal text.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number as written (`1`, `-2.50`, `1e3`).
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x), .number(y)): return Double(x) == Double(y)
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            return x.count == y.count && x.allSatisfy { k, v in y.first { $0.0 == k }.map { $0.1 == v } ?? false }
        default: return false
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let fields) = self { return fields.first { $0.0 == key }?.1 }
        return nil
    }

    public var string: String? { if case .string(let s) = self { return s } else { return nil } }
    public var array: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
    public var fields: [(String, JSONValue)]? { if case .object(let f) = self { return f } else { return nil } }
    public var double: Double? { if case .number(let n) = self { return Double(n) } else { return nil } }

    /// The JSON type name (`integer` for integral numbers).
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number(let n): return Self.isIntegral(n) ? "integer" : "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    static func isIntegral(_ literal: String) -> Bool {
        guard let d = Double(literal), d.isFinite else { return false }
        return d == d.rounded()
    }

    /// The same value with every object's keys sorted by `rank` (unranked keys after, in order).
    public func reordered(_ rank: [String: Int]) -> JSONValue {
        switch self {
        case .array(let items): return .array(items.map { $0.reordered(rank) })
        case .object(let fields):
            let sorted = fields.enumerated().sorted { a, b in
                let ra = rank[a.element.0] ?? Int.max, rb = rank[b.element.0] ?? Int.max
                return ra != rb ? ra < rb : a.offset < b.offset
            }
            return .object(sorted.map { ($0.element.0, $0.element.1.reordered(rank)) })
        default: return self
        }
    }

    // MARK: - Text

    /// Compact JSON text in a canonical form: keys in order, no spaces, numbers in plain
    /// decimal (integral values without a fraction or exponent), strings with only the escapes
    /// JSON requires. The grammar compiled from a schema accepts this form of every valid value.
    public var canonicalText: String {
        var out = ""
        write(into: &out)
        return out
    }

    public func write(into out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += Self.canonicalNumber(n)
        case .string(let s): Self.writeString(s, into: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(into: &out)
            }
            out += "]"
        case .object(let fields):
            out += "{"
            for (i, (k, v)) in fields.enumerated() {
                if i > 0 { out += "," }
                Self.writeString(k, into: &out)
                out += ":"
                v.write(into: &out)
            }
            out += "}"
        }
    }

    static func writeString(_ s: String, into out: inout String) {
        out += "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if c.value < 0x20 {
                    out += String(format: "\\u%04x", c.value)
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        out += "\""
    }

    /// A number literal in plain decimal: the exponent applied by moving the point, no
    /// trailing fraction zeros, no "-0". A literal written with a fraction or an exponent keeps
    /// one (`1.0`, `1e2` is `100.0`): JSON Schema drafts 3 and 4, and Python, tell such a value
    /// from the integer.
    static func canonicalNumber(_ literal: String) -> String {
        var s = Substring(literal)
        var negative = false
        if s.hasPrefix("-") {
            negative = true
            s = s.dropFirst()
        }
        let isFloat = s.contains(".") || s.contains("e") || s.contains("E")
        var exponent = 0
        if let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(s[s.index(after: e)...].replacingOccurrences(of: "+", with: "")) ?? 0
            s = s[..<e]
        }
        var intPart = String(s)
        var frac = ""
        if let dot = s.firstIndex(of: ".") {
            intPart = String(s[..<dot])
            frac = String(s[s.index(after: dot)...])
        }
        guard abs(exponent) < 400 else { return literal }
        var digits = intPart + frac
        var point = intPart.count + exponent
        if point < 0 {
            digits = String(repeating: "0", count: -point) + digits
            point = 0
        }
        if point > digits.count { digits += String(repeating: "0", count: point - digits.count) }
        var i = String(digits.prefix(point))
        var f = String(digits.dropFirst(point))
        while f.hasSuffix("0") { f.removeLast() }
        while i.count > 1 && i.hasPrefix("0") { i.removeFirst() }
        if i.isEmpty { i = "0" }
        if f.isEmpty && isFloat { f = "0" }
        let body = f.isEmpty ? i : i + "." + f
        return negative && body != "0" && body != "0.0" ? "-" + body : body
    }

    // MARK: - Parsing

    /// Parses JSON text (strict RFC 8259).
    public init(parsing text: String) throws {
        var p = JSONTextParser(Array(text.utf8))
        self = try p.document()
    }
}

/// Why JSON text could not be parsed.
public struct JSONTextError: Error, CustomStringConvertible, Sendable {
    public let offset: Int
    public let why: String
    public var description: String { "JSON at byte \(offset): \(why)" }
}

struct JSONTextParser {
    let b: [UInt8]
    var i = 0
    init(_ bytes: [UInt8]) { b = bytes }

    func fail(_ why: String) -> JSONTextError { JSONTextError(offset: i, why: why) }

    mutating func ws() { while i < b.count && (b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D) { i += 1 } }

    mutating func document() throws -> JSONValue {
        ws()
        let v = try value(depth: 0)
        ws()
        if i != b.count { throw fail("unexpected text after the value") }
        return v
    }

    mutating func literal(_ word: String, _ v: JSONValue) throws -> JSONValue {
        let w = Array(word.utf8)
        guard i + w.count <= b.count, Array(b[i..<i + w.count]) == w else { throw fail("expected \(word)") }
        i += w.count
        return v
    }

    mutating func value(depth: Int) throws -> JSONValue {
        guard depth < 512 else { throw fail("nested too deeply") }
        guard i < b.count else { throw fail("unexpected end") }
        switch b[i] {
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "["):
            i += 1
            ws()
            var items: [JSONValue] = []
            if i < b.count && b[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                ws()
                items.append(try value(depth: depth + 1))
                ws()
                guard i < b.count else { throw fail("unterminated array") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                throw fail("expected ',' or ']'")
            }
        case UInt8(ascii: "{"):
            i += 1
            ws()
            var fields: [(String, JSONValue)] = []
            if i < b.count && b[i] == UInt8(ascii: "}") { i += 1; return .object(fields) }
            while true {
                ws()
                guard i < b.count && b[i] == UInt8(ascii: "\"") else { throw fail("expected a key") }
                let key = try string()
                ws()
                guard i < b.count && b[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                i += 1
                ws()
                let v = try value(depth: depth + 1)
                if let at = fields.firstIndex(where: { $0.0 == key }) { fields[at].1 = v } else { fields.append((key, v)) }
                ws()
                guard i < b.count else { throw fail("unterminated object") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "}") { i += 1; return .object(fields) }
                throw fail("expected ',' or '}'")
            }
        default:
            let start = i
            if b[i] == UInt8(ascii: "-") { i += 1 }
            func digits(_ p: inout JSONTextParser) -> Int {
                let s = p.i
                while p.i < p.b.count && p.b[p.i] >= 0x30 && p.b[p.i] <= 0x39 { p.i += 1 }
                return p.i - s
            }
            guard i < b.count else { throw fail("expected a value") }
            if b[i] == UInt8(ascii: "0") { i += 1 } else if digits(&self) == 0 { throw fail("expected a value") }
            if i < b.count && b[i] == UInt8(ascii: ".") {
                i += 1
                if digits(&self) == 0 { throw fail("expected digits after '.'") }
            }
            if i < b.count && (b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E")) {
                i += 1
                if i < b.count && (b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-")) { i += 1 }
                if digits(&self) == 0 { throw fail("expected exponent digits") }
            }
            return .number(String(decoding: b[start..<i], as: UTF8.self))
        }
    }

    mutating func hex4() throws -> UInt32 {
        guard i + 4 <= b.count, let v = UInt32(String(decoding: b[i..<i + 4], as: UTF8.self), radix: 16) else { throw fail("bad \\u escape") }
        i += 4
        return v
    }

    mutating func string() throws -> String {
        i += 1
        var scalars = String.UnicodeScalarView()
        var raw: [UInt8] = []
        func flush() {
            scalars.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars)
            raw.removeAll()
        }
        while true {
            guard i < b.count else { throw fail("unterminated string") }
            let c = b[i]
            if c == UInt8(ascii: "\"") { i += 1; break }
            if c < 0x20 { throw fail("control character in a string") }
            if c == UInt8(ascii: "\\") {
                flush()
                i += 1
                guard i < b.count else { throw fail("unterminated string") }
                let e = b[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"):
                    var v = try hex4()
                    if v >= 0xD800 && v < 0xDC00, i + 1 < b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") {
                        i += 2
                        let lo = try hex4()
                        v = 0x10000 + ((v - 0xD800) << 10) + (lo &- 0xDC00 & 0x3FF)
                    }
                    scalars.append(UnicodeScalar(v) ?? "\u{FFFD}")
                default: throw fail("bad escape")
                }
            } else {
                raw.append(c)
                i += 1
            }
        }
        flush()
        return String(scalars)
    }
}
