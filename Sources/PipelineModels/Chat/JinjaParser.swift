/// Parsed template nodes.
indirect enum JinjaNode: Sendable {
    case text(String)
    case output(JinjaExpr)
    case forLoop(variables: [String], iterable: JinjaExpr, body: [JinjaNode], orElse: [JinjaNode])
    case ifChain([(condition: JinjaExpr, body: [JinjaNode])], orElse: [JinjaNode])
    case set(String, JinjaExpr)
}

indirect enum JinjaExpr: Sendable {
    case literal(JinjaValue)
    case name(String, offset: Int)
    case list([JinjaExpr])
    case dict([(JinjaExpr, JinjaExpr)])
    case attribute(JinjaExpr, String, offset: Int)
    case index(JinjaExpr, JinjaExpr, offset: Int)
    case slice(JinjaExpr, JinjaExpr?, JinjaExpr?, offset: Int)
    case call(JinjaExpr, [JinjaExpr], offset: Int)
    case filter(JinjaExpr, String, [JinjaExpr], offset: Int)
    case test(JinjaExpr, String, negated: Bool, offset: Int)
    case unary(String, JinjaExpr, offset: Int)
    case binary(String, JinjaExpr, JinjaExpr, offset: Int)
    case conditional(JinjaExpr, condition: JinjaExpr, orElse: JinjaExpr?)
}

/// Recursive-descent parser over the lexed segments; statement keywords it does not know
/// (`macro`, `call`, `include`, …) are errors naming them.
struct JinjaParser {
    /// The deepest nesting of blocks (`for`, `if`) or of expressions (parentheses, `not`,
    /// unary minus) parsed: templates come inside model files, and recursion as deep as an
    /// untrusted file asks would overflow the stack. Real chat templates nest a few levels.
    static let maxDepth = 100
    let segments: [JinjaSegment]
    var index = 0
    var depth = 0

    init(tokens: [JinjaSegment]) { segments = tokens }

    /// Parses nodes until a statement whose keyword is in `terminators` (left unconsumed).
    mutating func parseBlock(until terminators: Set<String>) throws -> [JinjaNode] {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else {
            var at = 0
            if index > 0, case .statement(_, let offset) = segments[index - 1] { at = offset }
            throw JinjaError(message: "blocks nest more than \(Self.maxDepth) deep", offset: at)
        }
        var nodes: [JinjaNode] = []
        while index < segments.count {
            switch segments[index] {
            case .text(let t):
                nodes.append(.text(t))
                index += 1
            case let .output(tokens, offset):
                var e = ExprParser(tokens: tokens, offset: offset)
                nodes.append(.output(try e.parseAll()))
                index += 1
            case let .statement(tokens, offset):
                guard case .name(let keyword)? = tokens.first else {
                    throw JinjaError(message: "empty statement", offset: offset)
                }
                if terminators.contains(keyword) { return nodes }
                index += 1
                nodes.append(try parseStatement(keyword, Array(tokens.dropFirst()), offset: offset))
            }
        }
        if !terminators.isEmpty {
            throw JinjaError(message: "missing {% \(terminators.sorted().joined(separator: " or ")) %}", offset: 0)
        }
        return nodes
    }

    private mutating func nextKeyword() -> (String, [JinjaToken], Int) {
        guard case let .statement(tokens, offset) = segments[index], case .name(let k)? = tokens.first else {
            return ("", [], 0)
        }
        index += 1
        return (k, Array(tokens.dropFirst()), offset)
    }

    private mutating func parseStatement(_ keyword: String, _ rest: [JinjaToken], offset: Int) throws -> JinjaNode {
        switch keyword {
        case "for":
            var variables: [String] = []
            var i = 0
            while i < rest.count, case .name(let n) = rest[i], n != "in" {
                variables.append(n)
                i += 1
                if i < rest.count, rest[i] == .op(",") { i += 1 }
            }
            guard !variables.isEmpty, i < rest.count, rest[i] == .name("in") else {
                throw JinjaError(message: "expected 'for NAME in EXPR'", offset: offset)
            }
            var e = ExprParser(tokens: Array(rest[(i + 1)...]), offset: offset)
            let iterable = try e.parseAll()
            let body = try parseBlock(until: ["else", "endfor"])
            var orElse: [JinjaNode] = []
            if nextKeyword().0 == "else" {
                orElse = try parseBlock(until: ["endfor"])
                _ = nextKeyword()
            }
            return .forLoop(variables: variables, iterable: iterable, body: body, orElse: orElse)
        case "if":
            var e = ExprParser(tokens: rest, offset: offset)
            var branches = [(condition: try e.parseAll(), body: try parseBlock(until: ["elif", "else", "endif"]))]
            var orElse: [JinjaNode] = []
            while true {
                let (k, tokens, off) = nextKeyword()
                if k == "elif" {
                    var e = ExprParser(tokens: tokens, offset: off)
                    branches.append((try e.parseAll(), try parseBlock(until: ["elif", "else", "endif"])))
                } else if k == "else" {
                    orElse = try parseBlock(until: ["endif"])
                    _ = nextKeyword()
                    break
                } else {
                    break
                }
            }
            return .ifChain(branches, orElse: orElse)
        case "set":
            guard rest.count >= 2, case .name(let name) = rest[0], rest[1] == .op("=") else {
                throw JinjaError(message: "expected 'set NAME = EXPR'", offset: offset)
            }
            var e = ExprParser(tokens: Array(rest.dropFirst(2)), offset: offset)
            return .set(name, try e.parseAll())
        default:
            throw JinjaError(message: "unsupported statement '\(keyword)'", offset: offset)
        }
    }
}

/// Expressions, lowest precedence first: conditional, or, and, not, comparison/in/is,
/// `~`, `+ -`, `* / // %`, unary minus, postfix (attribute, subscript, call, filter).
struct ExprParser {
    let tokens: [JinjaToken]
    let offset: Int
    var i = 0
    /// Nesting of the recursive rules now open (bounded by `JinjaParser.maxDepth`).
    var depth = 0

    init(tokens: [JinjaToken], offset: Int) {
        self.tokens = tokens
        self.offset = offset
    }

    mutating func parseAll() throws -> JinjaExpr {
        let e = try conditional()
        if i < tokens.count { throw JinjaError(message: "unexpected \(describe(tokens[i]))", offset: offset) }
        return e
    }

    private func describe(_ t: JinjaToken) -> String {
        switch t {
        case .name(let n): return "'\(n)'"
        case .string(let s): return "string '\(s)'"
        case .int(let v): return "number \(v)"
        case .op(let o): return "'\(o)'"
        }
    }

    private var peek: JinjaToken? { i < tokens.count ? tokens[i] : nil }
    private mutating func take(_ t: JinjaToken) -> Bool {
        if peek == t { i += 1; return true }
        return false
    }
    private mutating func expect(_ t: JinjaToken) throws {
        guard take(t) else {
            throw JinjaError(message: "expected \(describe(t))" + (peek.map { ", found \(describe($0))" } ?? " at the end"), offset: offset)
        }
    }

    /// Counts one more level of nesting, refusing past `JinjaParser.maxDepth`.
    private mutating func enter() throws {
        depth += 1
        guard depth <= JinjaParser.maxDepth else {
            throw JinjaError(message: "an expression nests more than \(JinjaParser.maxDepth) deep", offset: offset)
        }
    }

    private mutating func conditional() throws -> JinjaExpr {
        try enter()
        defer { depth -= 1 }
        let value = try or()
        if take(.name("if")) {
            let condition = try or()
            let orElse = take(.name("else")) ? try conditional() : nil
            return .conditional(value, condition: condition, orElse: orElse)
        }
        return value
    }

    private mutating func or() throws -> JinjaExpr {
        var l = try and()
        while take(.name("or")) { l = .binary("or", l, try and(), offset: offset) }
        return l
    }

    private mutating func and() throws -> JinjaExpr {
        var l = try not()
        while take(.name("and")) { l = .binary("and", l, try not(), offset: offset) }
        return l
    }

    private mutating func not() throws -> JinjaExpr {
        if take(.name("not")) {
            try enter()
            defer { depth -= 1 }
            return .unary("not", try not(), offset: offset)
        }
        return try comparison()
    }

    private mutating func comparison() throws -> JinjaExpr {
        var l = try concat()
        while let t = peek {
            if case .op(let o) = t, ["==", "!=", "<", ">", "<=", ">="].contains(o) {
                i += 1
                l = .binary(o, l, try concat(), offset: offset)
            } else if t == .name("in") {
                i += 1
                l = .binary("in", l, try concat(), offset: offset)
            } else if t == .name("not"), i + 1 < tokens.count, tokens[i + 1] == .name("in") {
                i += 2
                l = .unary("not", .binary("in", l, try concat(), offset: offset), offset: offset)
            } else if t == .name("is") {
                i += 1
                let negated = take(.name("not"))
                guard case .name(let test)? = peek else { throw JinjaError(message: "expected a test after 'is'", offset: offset) }
                i += 1
                l = .test(l, test, negated: negated, offset: offset)
            } else {
                break
            }
        }
        return l
    }

    private mutating func concat() throws -> JinjaExpr {
        var l = try additive()
        while take(.op("~")) { l = .binary("~", l, try additive(), offset: offset) }
        return l
    }

    private mutating func additive() throws -> JinjaExpr {
        var l = try multiplicative()
        while case .op(let o)? = peek, o == "+" || o == "-" {
            i += 1
            l = .binary(o, l, try multiplicative(), offset: offset)
        }
        return l
    }

    private mutating func multiplicative() throws -> JinjaExpr {
        var l = try unary()
        while case .op(let o)? = peek, ["*", "/", "//", "%"].contains(o) {
            i += 1
            l = .binary(o, l, try unary(), offset: offset)
        }
        return l
    }

    private mutating func unary() throws -> JinjaExpr {
        if take(.op("-")) {
            try enter()
            defer { depth -= 1 }
            return .unary("-", try unary(), offset: offset)
        }
        return try postfix()
    }

    private mutating func postfix() throws -> JinjaExpr {
        var e = try primary()
        while true {
            if take(.op(".")) {
                guard case .name(let n)? = peek else { throw JinjaError(message: "expected a name after '.'", offset: offset) }
                i += 1
                e = .attribute(e, n, offset: offset)
            } else if take(.op("[")) {
                var start: JinjaExpr? = nil
                if peek != .op(":") { start = try conditional() }
                if take(.op(":")) {
                    let end = peek == .op("]") ? nil : try conditional()
                    e = .slice(e, start, end, offset: offset)
                } else if let start {
                    e = .index(e, start, offset: offset)
                }
                try expect(.op("]"))
            } else if take(.op("(")) {
                e = .call(e, try arguments(), offset: offset)
            } else if take(.op("|")) {
                guard case .name(let f)? = peek else { throw JinjaError(message: "expected a filter name", offset: offset) }
                i += 1
                let args = take(.op("(")) ? try arguments() : []
                e = .filter(e, f, args, offset: offset)
            } else {
                return e
            }
        }
    }

    private mutating func arguments() throws -> [JinjaExpr] {
        var args: [JinjaExpr] = []
        while !take(.op(")")) {
            args.append(try conditional())
            if !take(.op(",")) {
                try expect(.op(")"))
                break
            }
        }
        return args
    }

    private mutating func primary() throws -> JinjaExpr {
        guard let t = peek else { throw JinjaError(message: "expression ends early", offset: offset) }
        i += 1
        switch t {
        case .string(let s): return .literal(.string(s))
        case .int(let v): return .literal(.int(v))
        case .name(let n):
            switch n {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(n, offset: offset)
            }
        case .op("("):
            let e = try conditional()
            try expect(.op(")"))
            return e
        case .op("["):
            var items: [JinjaExpr] = []
            while !take(.op("]")) {
                items.append(try conditional())
                if !take(.op(",")) { try expect(.op("]")); break }
            }
            return .list(items)
        case .op("{"):
            var pairs: [(JinjaExpr, JinjaExpr)] = []
            while !take(.op("}")) {
                let k = try conditional()
                try expect(.op(":"))
                pairs.append((k, try conditional()))
                if !take(.op(",")) { try expect(.op("}")); break }
            }
            return .dict(pairs)
        default:
            throw JinjaError(message: "unexpected \(describe(t))", offset: offset)
        }
    }
}
