/// A value in a chat template: what Jinja's Python objects become here.
public indirect enum JinjaValue: Sendable, Equatable, CustomStringConvertible {
    case undefined
    case none
    case bool(Bool)
    case int(Int)
    case string(String)
    case array([JinjaValue])
    case dict([String: JinjaValue])

    public var description: String {
        switch self {
        case .undefined, .none: return ""
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .string(let s): return s
        case .array(let a): return "[" + a.map { $0.quoted }.joined(separator: ", ") + "]"
        case .dict(let d): return "{" + d.keys.sorted().map { "'\($0)': \(d[$0]!.quoted)" }.joined(separator: ", ") + "}"
        }
    }

    private var quoted: String {
        if case .string(let s) = self { return "'\(s)'" }
        return description
    }

    /// Python truthiness.
    var truthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .string(let s): return !s.isEmpty
        case .array(let a): return !a.isEmpty
        case .dict(let d): return !d.isEmpty
        }
    }
}

/// Why a template could not be parsed or rendered; `offset` is the character offset in the template.
public struct JinjaError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public let offset: Int
    public var description: String { "chat template, character \(offset): \(message)" }
}

/// The subset of Jinja that models' chat templates use: `{{ }}`, `{% for %}`, `{% if/elif/else %}`,
/// `{% set %}`, `{# #}`, whitespace control (`{%-`, `-%}`), literals, subscripts and attributes,
/// `loop.*`, `+ - * / % ~`, comparisons, `and/or/not/in`, `is [not] defined/none/string`,
/// the filters `trim`, `length`, `lower`, `upper`, `first`, `last`, `string`, `tojson`, and the
/// string methods `strip`, `startswith`, `endswith`, and `raise_exception`. Anything else is
/// refused with the construct and its position, never skipped.
public struct JinjaTemplate: Sendable {
    let nodes: [JinjaNode]

    public init(_ source: String) throws {
        let tokens = try JinjaLexer.tokens(source)
        var parser = JinjaParser(tokens: tokens)
        nodes = try parser.parseBlock(until: [])
    }

    public func render(_ context: [String: JinjaValue]) throws -> String {
        var renderer = JinjaRenderer(scopes: [context])
        var out = ""
        try renderer.run(nodes, into: &out)
        return out
    }
}

// MARK: - Lexing

enum JinjaSegment: Equatable, Sendable {
    case text(String)
    case output([JinjaToken], offset: Int)
    case statement([JinjaToken], offset: Int)
}

enum JinjaToken: Equatable, Sendable {
    case name(String)
    case string(String)
    case int(Int)
    case op(String)
}

enum JinjaLexer {
    static func tokens(_ source: String) throws -> [JinjaSegment] {
        let chars = Array(source)
        var segments: [JinjaSegment] = []
        var text = ""
        var i = 0
        var trimNextText = false
        func flushText(trimRight: Bool) {
            var t = text
            if trimNextText { t = String(t.drop(while: \.isWhitespace)) }
            if trimRight { while let last = t.last, last.isWhitespace { t.removeLast() } }
            if !t.isEmpty { segments.append(.text(t)) }
            text = ""
            trimNextText = false
        }
        while i < chars.count {
            if chars[i] == "{", i + 1 < chars.count, "{%#".contains(chars[i + 1]) {
                let kind = chars[i + 1]
                let close: Character = kind == "{" ? "}" : kind == "%" ? "%" : "#"
                let start = i
                var j = i + 2
                let trimLeft = j < chars.count && chars[j] == "-"
                if trimLeft { j += 1 }
                var end = -1
                var k = j
                var quote: Character? = nil
                while k + 1 < chars.count {
                    if let q = quote {
                        if chars[k] == "\\" { k += 2; continue }
                        if chars[k] == q { quote = nil }
                    } else if kind != "#" && (chars[k] == "'" || chars[k] == "\"") {
                        quote = chars[k]
                    } else if chars[k] == close && chars[k + 1] == "}" {
                        end = k
                        break
                    }
                    k += 1
                }
                guard end >= 0 else { throw JinjaError(message: "unclosed '{\(kind)'", offset: start) }
                let trimRight = end > j && chars[end - 1] == "-"
                let inner = String(chars[j..<(trimRight ? end - 1 : end)])
                flushText(trimRight: trimLeft)
                switch kind {
                case "{": segments.append(.output(try lex(inner, offset: j), offset: start))
                case "%": segments.append(.statement(try lex(inner, offset: j), offset: start))
                default: break
                }
                trimNextText = trimRight
                i = end + 2
            } else {
                text.append(chars[i])
                i += 1
            }
        }
        flushText(trimRight: false)
        return segments
    }

    static func lex(_ s: String, offset: Int) throws -> [JinjaToken] {
        let c = Array(s)
        var out: [JinjaToken] = []
        var i = 0
        while i < c.count {
            let ch = c[i]
            if ch.isWhitespace { i += 1; continue }
            if ch.isLetter || ch == "_" {
                var j = i
                while j < c.count, c[j].isLetter || c[j].isNumber || c[j] == "_" { j += 1 }
                out.append(.name(String(c[i..<j])))
                i = j
            } else if ch.isNumber {
                var j = i
                while j < c.count, c[j].isNumber { j += 1 }
                guard let v = Int(String(c[i..<j])) else { throw JinjaError(message: "bad number", offset: offset + i) }
                out.append(.int(v))
                i = j
            } else if ch == "'" || ch == "\"" {
                var j = i + 1
                var value = ""
                while j < c.count, c[j] != ch {
                    if c[j] == "\\", j + 1 < c.count {
                        j += 1
                        switch c[j] {
                        case "n": value.append("\n")
                        case "t": value.append("\t")
                        case "r": value.append("\r")
                        default: value.append(c[j])
                        }
                    } else {
                        value.append(c[j])
                    }
                    j += 1
                }
                guard j < c.count else { throw JinjaError(message: "unterminated string", offset: offset + i) }
                out.append(.string(value))
                i = j + 1
            } else {
                let two = i + 1 < c.count ? String(c[i...(i + 1)]) : ""
                if ["==", "!=", "<=", ">=", "//", "**"].contains(two) {
                    out.append(.op(two))
                    i += 2
                } else if "+-*/%~<>()[]{}.,:|=".contains(ch) {
                    out.append(.op(String(ch)))
                    i += 1
                } else {
                    throw JinjaError(message: "unexpected character '\(ch)'", offset: offset + i)
                }
            }
        }
        return out
    }
}
