/// Evaluates parsed nodes against nested scopes (the context, then `for`/`set` scopes).
///
/// A template comes inside a model file, so rendering is bounded whatever it says: at most
/// `maxSteps` nodes run, no string, list or output grows past `maxLength`, and integer
/// arithmetic that overflows is an error rather than a trap.
struct JinjaRenderer {
    /// The most template nodes one render runs (loops count every pass).
    static let maxSteps = 1_000_000
    /// The longest string (in bytes) or output one render makes, and the longest text a value
    /// may print as.
    static let maxLength = 1 << 24
    /// The most elements of one list (`range` included).
    static let maxElements = 1 << 20
    /// The most list or mapping literals holding a list or mapping one render evaluates: each
    /// can nest values one level deeper (`{% set a = [a] %}` repeated), and a nested value is
    /// printed and freed by recursion, so its depth must stay far below what a thread's stack holds.
    static let maxNestings = 1_000
    var scopes: [[String: JinjaValue]]
    var steps = 0
    /// Counts nesting literals (a class: `eval` does not mutate the renderer).
    final class Nestings { var count = 0 }
    let nestings = Nestings()

    init(scopes: [[String: JinjaValue]]) { self.scopes = scopes }

    /// Counts a literal whose items include a list or mapping, refusing past `maxNestings`.
    private func countNesting(_ items: [JinjaValue], offset: Int) throws {
        guard items.contains(where: { if case .array = $0 { true } else if case .dict = $0 { true } else { false } }) else { return }
        nestings.count += 1
        guard nestings.count <= Self.maxNestings else {
            throw JinjaError(message: "more than \(Self.maxNestings) lists or mappings nested in others", offset: offset)
        }
    }

    mutating func run(_ nodes: [JinjaNode], into out: inout String) throws {
        for node in nodes {
            steps += 1
            guard steps <= Self.maxSteps else {
                throw JinjaError(message: "rendering ran more than \(Self.maxSteps) steps", offset: 0)
            }
            switch node {
            case .text(let t):
                out += t
            case .output(let e):
                out += try text(of: eval(e), offset: 0)
                guard out.utf8.count <= Self.maxLength else {
                    throw JinjaError(message: "the output grew past \(Self.maxLength) bytes", offset: 0)
                }
            case let .set(name, e):
                scopes[scopes.count - 1][name] = try eval(e)
            case let .ifChain(branches, orElse):
                var taken = false
                for (condition, body) in branches where try eval(condition).truthy {
                    try run(body, into: &out)
                    taken = true
                    break
                }
                if !taken { try run(orElse, into: &out) }
            case let .forLoop(variables, iterable, body, orElse):
                let items: [JinjaValue]
                switch try eval(iterable) {
                case .array(let a): items = a
                case .dict(let d): items = d.keys.sorted().map { .array([.string($0), d[$0]!]) }
                case .string(let s): items = s.map { .string(String($0)) }
                case .undefined, .none: items = []
                case let other: throw JinjaError(message: "cannot loop over \(other)", offset: 0)
                }
                if items.isEmpty { try run(orElse, into: &out) }
                for (n, item) in items.enumerated() {
                    var scope: [String: JinjaValue] = [
                        "loop": .dict([
                            "index0": .int(n), "index": .int(n + 1), "first": .bool(n == 0),
                            "last": .bool(n == items.count - 1), "length": .int(items.count),
                            "revindex": .int(items.count - n), "revindex0": .int(items.count - n - 1),
                        ])
                    ]
                    if variables.count == 1 {
                        scope[variables[0]] = item
                    } else if case .array(let parts) = item, parts.count == variables.count {
                        for (v, p) in zip(variables, parts) { scope[v] = p }
                    } else {
                        throw JinjaError(message: "cannot unpack \(item) into \(variables.joined(separator: ", "))", offset: 0)
                    }
                    scopes.append(scope)
                    defer { scopes.removeLast() }
                    try run(body, into: &out)
                }
            }
        }
    }

    func lookup(_ name: String) -> JinjaValue {
        for scope in scopes.reversed() { if let v = scope[name] { return v } }
        return .undefined
    }

    func eval(_ e: JinjaExpr) throws -> JinjaValue {
        switch e {
        case .literal(let v): return v
        case .name(let n, _): return lookup(n)
        case .list(let items):
            let values = try items.map(eval)
            try countNesting(values, offset: 0)
            return .array(values)
        case .dict(let pairs):
            var d: [String: JinjaValue] = [:]
            for (k, v) in pairs { d[try eval(k).description] = try eval(v) }
            try countNesting(Array(d.values), offset: 0)
            return .dict(d)
        case let .attribute(base, name, _):
            let b = try eval(base)
            if case .dict(let d) = b { return d[name] ?? .undefined }
            return .undefined
        case let .index(base, index, offset):
            let b = try eval(base), k = try eval(index)
            switch (b, k) {
            case let (.dict(d), .string(s)): return d[s] ?? .undefined
            case let (.array(a), .int(n)):
                let at = n < 0 ? a.count + n : n
                return a.indices.contains(at) ? a[at] : .undefined
            case let (.string(s), .int(n)):
                let chars = Array(s), at = n < 0 ? chars.count + n : n
                return chars.indices.contains(at) ? .string(String(chars[at])) : .undefined
            case (.undefined, _):
                throw JinjaError(message: "subscript of an undefined value", offset: offset)
            default:
                return .undefined
            }
        case let .slice(base, start, end, offset):
            let b = try eval(base)
            func bounds(_ count: Int) throws -> Range<Int> {
                func clamp(_ e: JinjaExpr?, _ fallback: Int) throws -> Int {
                    guard let e else { return fallback }
                    guard case .int(let v) = try eval(e) else { throw JinjaError(message: "slice bounds must be numbers", offset: offset) }
                    return min(max(v < 0 ? count + v : v, 0), count)
                }
                let s = try clamp(start, 0), t = try clamp(end, count)
                return s..<max(s, t)
            }
            switch b {
            case .array(let a): return .array(Array(a[try bounds(a.count)]))
            case .string(let s): let c = Array(s); return .string(String(c[try bounds(c.count)]))
            default: throw JinjaError(message: "cannot slice \(b)", offset: offset)
            }
        case let .call(callee, args, offset):
            return try call(callee, try args.map(eval), offset: offset)
        case let .filter(base, name, args, offset):
            return try filter(name, try eval(base), try args.map(eval), offset: offset)
        case let .test(base, name, negated, offset):
            let v = try eval(base)
            let result: Bool
            switch name {
            case "defined": if case .undefined = v { result = false } else { result = true }
            case "undefined": if case .undefined = v { result = true } else { result = false }
            case "none": result = v == .none
            case "string": if case .string = v { result = true } else { result = false }
            case "mapping": if case .dict = v { result = true } else { result = false }
            case "iterable", "sequence":
                switch v { case .array, .string, .dict: result = true; default: result = false }
            case "number": if case .int = v { result = true } else { result = false }
            case "boolean": if case .bool = v { result = true } else { result = false }
            default: throw JinjaError(message: "unsupported test 'is \(name)'", offset: offset)
            }
            return .bool(result != negated)
        case let .unary(op, operand, offset):
            let v = try eval(operand)
            if op == "not" { return .bool(!v.truthy) }
            guard case .int(let n) = v else { throw JinjaError(message: "cannot negate \(v)", offset: offset) }
            return try integer((0).subtractingReportingOverflow(n), "-", offset: offset)
        case let .binary(op, l, r, offset):
            if op == "and" { let a = try eval(l); return a.truthy ? try eval(r) : a }
            if op == "or" { let a = try eval(l); return a.truthy ? a : try eval(r) }
            return try binary(op, try eval(l), try eval(r), offset: offset)
        case let .conditional(value, condition, orElse):
            if try eval(condition).truthy { return try eval(value) }
            return try orElse.map(eval) ?? .undefined
        }
    }

    /// Refuses a string or list longer than `maxLength` before it is made.
    private func checkLength(_ count: Int, offset: Int) throws {
        guard count >= 0, count <= Self.maxLength else {
            throw JinjaError(message: "a value would grow past \(Self.maxLength) elements", offset: offset)
        }
    }

    /// Refuses a list longer than `maxElements` before it is made.
    private func checkElements(_ count: Int, offset: Int) throws {
        guard count >= 0, count <= Self.maxElements else {
            throw JinjaError(message: "a list would grow past \(Self.maxElements) elements", offset: offset)
        }
    }

    /// The value's text (what `{{ }}` prints), refused when it would pass `maxLength` bytes:
    /// a list of copies of one long string is small in memory and huge as text.
    private func text(of v: JinjaValue, offset: Int) throws -> String {
        try checkText(of: v, escaping: 1, offset: offset)
        return v.description
    }

    /// Counts the bytes `v` prints as (each string byte as `escaping`), without making them.
    private func checkText(of v: JinjaValue, escaping: Int, offset: Int) throws {
        var budget = Self.maxLength
        func walk(_ v: JinjaValue) throws {
            switch v {
            case .undefined, .none: budget -= 4
            case .bool: budget -= 5
            case .int: budget -= 20
            case .string(let s): budget -= s.utf8.count * escaping + 2
            case .array(let items):
                budget -= 2
                for item in items where budget >= 0 {
                    try walk(item)
                    budget -= 2
                }
            case .dict(let d):
                budget -= 2
                for (key, item) in d where budget >= 0 {
                    budget -= key.utf8.count * escaping + 6
                    try walk(item)
                }
            }
            if budget < 0 { throw JinjaError(message: "a value's text would grow past \(Self.maxLength) bytes", offset: offset) }
        }
        try walk(v)
    }

    /// An integer result, or an error naming the operation when it overflows.
    private func integer(_ result: (partialValue: Int, overflow: Bool), _ op: String, offset: Int) throws -> JinjaValue {
        guard !result.overflow else { throw JinjaError(message: "'\(op)' overflows", offset: offset) }
        return .int(result.partialValue)
    }

    private func binary(_ op: String, _ a: JinjaValue, _ b: JinjaValue, offset: Int) throws -> JinjaValue {
        switch (op, a, b) {
        case ("~", _, _):
            let (x, y) = (try text(of: a, offset: offset), try text(of: b, offset: offset))
            try checkLength(x.utf8.count + y.utf8.count, offset: offset)
            return .string(x + y)
        case let ("+", .string(x), .string(y)):
            try checkLength(x.utf8.count + y.utf8.count, offset: offset)
            return .string(x + y)
        case let ("+", .array(x), .array(y)):
            try checkElements(x.count + y.count, offset: offset)
            return .array(x + y)
        case let ("+", .int(x), .int(y)): return try integer(x.addingReportingOverflow(y), op, offset: offset)
        case let ("-", .int(x), .int(y)): return try integer(x.subtractingReportingOverflow(y), op, offset: offset)
        case let ("*", .int(x), .int(y)): return try integer(x.multipliedReportingOverflow(by: y), op, offset: offset)
        case let ("*", .string(x), .int(y)):
            let (bytes, overflow) = x.utf8.count.multipliedReportingOverflow(by: max(0, y))
            try checkLength(overflow ? -1 : bytes, offset: offset)
            return .string(String(repeating: x, count: max(0, y)))
        case let ("//", .int(x), .int(y)) where y != 0:
            // Floor division, as Python's: the quotient rounds down, not toward zero.
            let (q, overflow) = x.dividedReportingOverflow(by: y)
            guard !overflow else { throw JinjaError(message: "'//' overflows", offset: offset) }
            return .int(x % y != 0 && (x < 0) != (y < 0) ? q - 1 : q)
        case let ("%", .int(x), .int(y)) where y != 0:
            // Python's sign rule: the result takes the divisor's sign (x % -1 is 0; Int.min % -1 would trap).
            if y == -1 { return .int(0) }
            let r = x % y
            return .int(r != 0 && (r < 0) != (y < 0) ? r + y : r)
        case ("==", _, _): return .bool(equal(a, b))
        case ("!=", _, _): return .bool(!equal(a, b))
        case let ("<", .int(x), .int(y)): return .bool(x < y)
        case let (">", .int(x), .int(y)): return .bool(x > y)
        case let ("<=", .int(x), .int(y)): return .bool(x <= y)
        case let (">=", .int(x), .int(y)): return .bool(x >= y)
        case let ("in", .string(x), .string(y)): return .bool(y.contains(x))
        case let ("in", _, .array(y)): return .bool(y.contains { equal($0, a) })
        case let ("in", .string(x), .dict(y)): return .bool(y[x] != nil)
        case ("in", _, .undefined), ("in", _, .none): return .bool(false)
        default:
            throw JinjaError(message: "cannot apply '\(op)' to \(kind(a)) and \(kind(b))", offset: offset)
        }
    }

    private func equal(_ a: JinjaValue, _ b: JinjaValue) -> Bool {
        switch (a, b) {
        case (.undefined, .undefined), (.none, .none), (.undefined, .none), (.none, .undefined): return true
        default: return a == b
        }
    }

    private func kind(_ v: JinjaValue) -> String {
        switch v {
        case .undefined: return "undefined"
        case .none: return "none"
        case .bool: return "a boolean"
        case .int: return "a number"
        case .string: return "a string"
        case .array: return "a list"
        case .dict: return "a mapping"
        }
    }

    private func call(_ callee: JinjaExpr, _ args: [JinjaValue], offset: Int) throws -> JinjaValue {
        if case .name("raise_exception", _) = callee {
            throw JinjaError(message: "the template raised: \(args.first?.description ?? "")", offset: offset)
        }
        if case .name("range", _) = callee, case .int(let n)? = args.first {
            try checkElements(max(0, n), offset: offset)
            return .array((0..<max(0, n)).map { .int($0) })
        }
        guard case let .attribute(base, method, _) = callee, case .string(let s) = try eval(base) else {
            throw JinjaError(message: "unsupported call", offset: offset)
        }
        switch (method, args.first) {
        case ("strip", nil): return .string(s.trimmingWhitespace())
        case ("lstrip", nil): return .string(String(s.drop(while: \.isWhitespace)))
        case ("rstrip", nil): return .string(String(s.reversed().drop(while: \.isWhitespace).reversed()))
        case ("upper", nil): return .string(s.uppercased())
        case ("lower", nil): return .string(s.lowercased())
        case let ("startswith", .string(p)?): return .bool(s.hasPrefix(p))
        case let ("endswith", .string(p)?): return .bool(s.hasSuffix(p))
        default: throw JinjaError(message: "unsupported string method '\(method)'", offset: offset)
        }
    }

    private func filter(_ name: String, _ v: JinjaValue, _ args: [JinjaValue], offset: Int) throws -> JinjaValue {
        switch (name, v) {
        case let ("trim", .string(s)): return .string(s.trimmingWhitespace())
        case let ("lower", .string(s)): return .string(s.lowercased())
        case let ("upper", .string(s)): return .string(s.uppercased())
        case let ("length", .string(s)), let ("count", .string(s)): return .int(s.count)
        case let ("length", .array(a)), let ("count", .array(a)): return .int(a.count)
        case let ("length", .dict(d)): return .int(d.count)
        case let ("first", .array(a)): return a.first ?? .undefined
        case let ("last", .array(a)): return a.last ?? .undefined
        case ("string", _): return .string(try text(of: v, offset: offset))
        case ("tojson", _):
            try checkText(of: v, escaping: 6, offset: offset)  // JSON escapes take up to 6 bytes a byte
            return .string(json(v))
        case ("default", .undefined): return args.first ?? .string("")
        case ("default", _): return v
        default: throw JinjaError(message: "unsupported filter '\(name)' on \(kind(v))", offset: offset)
        }
    }

    private func json(_ v: JinjaValue) -> String {
        switch v {
        case .undefined, .none: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .string(let s):
            var out = "\""
            for c in s.unicodeScalars {
                switch c {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\t": out += "\\t"
                case "\r": out += "\\r"
                default: out.unicodeScalars.append(c)
                }
            }
            return out + "\""
        case .array(let a): return "[" + a.map(json).joined(separator: ", ") + "]"
        case .dict(let d): return "{" + d.keys.sorted().map { json(.string($0)) + ": " + json(d[$0]!) }.joined(separator: ", ") + "}"
        }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
