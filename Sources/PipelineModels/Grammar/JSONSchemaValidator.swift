import Foundation

/// Decides whether one JSON value is valid under a JSON Schema. The compiler uses it where a
/// schema admits a finite set of values (`enum` or `const`, at the top or in an `allOf` part):
/// whatever else the schema says (`not`, `patternProperties`, `if`, `dependencies`...), the
/// valid values are exactly the listed ones the whole schema accepts, so they are filtered here
/// and the grammar is their list.
///
/// Semantics follow the schema's draft (`$schema`; none means 2020-12), as Python `jsonschema`
/// does: drafts 3-4 count only numbers without a fraction as integers and use boolean
/// `exclusiveMinimum`/`exclusiveMaximum`; up to draft 7 a `$ref` hides its siblings and
/// `dependencies` is a keyword; `items` given as a list is a tuple (with `additionalItems`).
/// `pattern` and `patternProperties` are searched (not anchored) with ICU regular expressions,
/// which agree with ECMA 262 on the syntax schemas use. What it cannot decide it refuses with
/// the keyword and pointer (`format` assertions, `unevaluated*`, dynamic and remote references),
/// and the compiler then takes its ordinary path.
struct JSONSchemaValidator {
    let root: JSONValue
    /// Drafts 3 and 4.
    let legacyNumbers: Bool
    /// Drafts 3 to 7: `$ref` siblings ignored, `dependencies` understood.
    let legacyRefs: Bool
    private var regexes: [String: NSRegularExpression] = [:]

    init(root: JSONValue) {
        self.root = root
        let draft = root["$schema"]?.string ?? ""
        legacyNumbers = draft.contains("draft-03") || draft.contains("draft-04")
        legacyRefs = legacyNumbers || draft.contains("draft-06") || draft.contains("draft-07")
    }

    /// Keywords whose outcome this validator cannot decide.
    static let undecided: Set<String> = ["unevaluatedProperties", "unevaluatedItems", "$dynamicRef", "$recursiveRef"]

    /// True when `value` is valid under `schema` (found at pointer `ptr`).
    mutating func isValid(_ value: JSONValue, _ schema: JSONValue, _ ptr: String, depth: Int = 0) throws(GrammarError) -> Bool {
        if depth > 64 { throw GrammarError.unsupportedKeyword("$ref", pointer: ptr + " (references nested more than 64 deep)") }
        if case .bool(let b) = schema { return b }
        guard let fields = schema.fields else {
            throw GrammarError.badSchema("a schema must be an object or a boolean, not \(schema.typeName)", pointer: ptr)
        }
        if let key = fields.map(\.0).first(where: Self.undecided.contains) {
            throw GrammarError.unsupportedKeyword(key, pointer: ptr + "/" + JSONSchemaCompiler.escapePointer(key))
        }
        if let ref = schema["$ref"] {
            guard let target = ref.string else { throw GrammarError.badSchema("'$ref' must be a string", pointer: ptr + "/$ref") }
            let (node, path) = try resolve(target, ptr)
            if !(try isValid(value, node, path, depth: depth + 1)) { return false }
            if legacyRefs { return true }
        }
        for (key, sub) in fields {
            let p = ptr + "/" + JSONSchemaCompiler.escapePointer(key)
            if !(try check(key, sub, value, schema, p, depth: depth)) { return false }
        }
        return true
    }

    /// One keyword of `schema` against `value`.
    private mutating func check(_ key: String, _ sub: JSONValue, _ value: JSONValue, _ schema: JSONValue, _ p: String,
                                depth: Int) throws(GrammarError) -> Bool {
        let d = depth + 1
        switch key {
        case "type":
            let names = sub.string.map { [$0] } ?? sub.array?.compactMap(\.string) ?? []
            return names.contains { hasType(value, $0) }
        case "enum":
            return sub.array?.contains(value) ?? false
        case "const":
            return sub == value
        case "not":
            return !(try isValid(value, sub, p, depth: d))
        case "allOf":
            for (i, s) in (sub.array ?? []).enumerated() where !(try isValid(value, s, p + "/\(i)", depth: d)) { return false }
            return true
        case "anyOf":
            for (i, s) in (sub.array ?? []).enumerated() where try isValid(value, s, p + "/\(i)", depth: d) { return true }
            return false
        case "oneOf":
            var n = 0
            for (i, s) in (sub.array ?? []).enumerated() where try isValid(value, s, p + "/\(i)", depth: d) { n += 1 }
            return n == 1
        case "if":
            let parent = p.dropLast(3)
            if try isValid(value, sub, p, depth: d) {
                return try schema["then"].map { s throws(GrammarError) in try isValid(value, s, parent + "/then", depth: d) } ?? true
            }
            return try schema["else"].map { s throws(GrammarError) in try isValid(value, s, parent + "/else", depth: d) } ?? true
        case "format":
            guard value.string != nil else { return true }
            throw GrammarError.unsupportedKeyword("format", pointer: p + " (a format is not checked on listed values)")
        default:
            break
        }
        switch value {
        case .string(let s): return try checkString(key, sub, s, p)
        case .number(let n): return checkNumber(key, sub, n, schema)
        case .array(let items): return try checkArray(key, sub, items, schema, p, depth: d)
        case .object(let members): return try checkObject(key, sub, members, schema, p, depth: d)
        default: return true
        }
    }

    private mutating func checkString(_ key: String, _ sub: JSONValue, _ s: String, _ p: String) throws(GrammarError) -> Bool {
        switch key {
        case "minLength": return sub.double.map { Double(s.unicodeScalars.count) >= $0 } ?? true
        case "maxLength": return sub.double.map { Double(s.unicodeScalars.count) <= $0 } ?? true
        case "pattern":
            guard let pattern = sub.string else { return true }
            return try matches(pattern, s, p)
        default: return true
        }
    }

    private func checkNumber(_ key: String, _ sub: JSONValue, _ literal: String, _ schema: JSONValue) -> Bool {
        guard let v = Double(literal) else { return false }
        switch key {
        case "minimum":
            guard let m = sub.double else { return true }
            if legacyNumbers, case .bool(true)? = schema["exclusiveMinimum"] { return v > m }
            return v >= m
        case "maximum":
            guard let m = sub.double else { return true }
            if legacyNumbers, case .bool(true)? = schema["exclusiveMaximum"] { return v < m }
            return v <= m
        case "exclusiveMinimum": return sub.double.map { v > $0 } ?? true
        case "exclusiveMaximum": return sub.double.map { v < $0 } ?? true
        case "multipleOf":
            guard let m = sub.double, m > 0 else { return true }
            if let a = Int64(exactly: v), let b = Int64(exactly: m), JSONValue.isIntegral(literal) { return a % b == 0 }
            let q = v / m
            return q.isFinite && q == q.rounded(.towardZero)
        default: return true
        }
    }

    private mutating func checkArray(_ key: String, _ sub: JSONValue, _ items: [JSONValue], _ schema: JSONValue, _ p: String,
                                     depth: Int) throws(GrammarError) -> Bool {
        switch key {
        case "minItems": return sub.double.map { Double(items.count) >= $0 } ?? true
        case "maxItems": return sub.double.map { Double(items.count) <= $0 } ?? true
        case "uniqueItems":
            guard case .bool(true) = sub else { return true }
            for i in items.indices { for j in items.indices where j > i && items[i] == items[j] { return false } }
            return true
        case "prefixItems":
            for (i, s) in (sub.array ?? []).enumerated() where i < items.count {
                if !(try isValid(items[i], s, p + "/\(i)", depth: depth)) { return false }
            }
            return true
        case "items":
            if let tuple = sub.array {
                for (i, s) in tuple.enumerated() where i < items.count {
                    if !(try isValid(items[i], s, p + "/\(i)", depth: depth)) { return false }
                }
                return true
            }
            let start = schema["prefixItems"]?.array?.count ?? 0
            for item in items.dropFirst(start) where !(try isValid(item, sub, p, depth: depth)) { return false }
            return true
        case "additionalItems":
            guard let tuple = schema["items"]?.array else { return true }
            for item in items.dropFirst(tuple.count) where !(try isValid(item, sub, p, depth: depth)) { return false }
            return true
        case "contains":
            var n = 0
            for item in items where try isValid(item, sub, p, depth: depth) { n += 1 }
            let low = legacyRefs ? 1 : (schema["minContains"]?.double ?? 1)
            if Double(n) < low { return false }
            if !legacyRefs, let high = schema["maxContains"]?.double, Double(n) > high { return false }
            return true
        default: return true
        }
    }

    private mutating func checkObject(_ key: String, _ sub: JSONValue, _ members: [(String, JSONValue)], _ schema: JSONValue,
                                      _ p: String, depth: Int) throws(GrammarError) -> Bool {
        switch key {
        case "required":
            return (sub.array ?? []).allSatisfy { name in members.contains { $0.0 == name.string } }
        case "minProperties": return sub.double.map { Double(members.count) >= $0 } ?? true
        case "maxProperties": return sub.double.map { Double(members.count) <= $0 } ?? true
        case "properties":
            for (name, v) in members {
                guard let s = sub[name] else { continue }
                if !(try isValid(v, s, p + "/" + JSONSchemaCompiler.escapePointer(name), depth: depth)) { return false }
            }
            return true
        case "patternProperties":
            for (pattern, s) in sub.fields ?? [] {
                for (name, v) in members where try matches(pattern, name, p) {
                    if !(try isValid(v, s, p + "/" + JSONSchemaCompiler.escapePointer(pattern), depth: depth)) { return false }
                }
            }
            return true
        case "additionalProperties":
            let declared = schema["properties"]?.fields?.map(\.0) ?? []
            let patterns = schema["patternProperties"]?.fields?.map(\.0) ?? []
            for (name, v) in members where !declared.contains(name) {
                var matched = false
                for pattern in patterns where try matches(pattern, name, p) { matched = true }
                if !matched, !(try isValid(v, sub, p, depth: depth)) { return false }
            }
            return true
        case "propertyNames":
            for (name, _) in members where !(try isValid(.string(name), sub, p, depth: depth)) { return false }
            return true
        case "dependentRequired", "dependencies", "dependentSchemas":
            if key == "dependencies" && !legacyRefs {
                throw GrammarError.unsupportedKeyword(key, pointer: p + " (not a keyword of this draft)")
            }
            for (name, need) in sub.fields ?? [] where members.contains(where: { $0.0 == name }) {
                if let names = need.array, key != "dependentSchemas" {
                    if !names.allSatisfy({ n in members.contains { $0.0 == n.string } }) { return false }
                } else if key != "dependentRequired" {
                    if !(try isValid(.object(members), need, p + "/" + JSONSchemaCompiler.escapePointer(name), depth: depth)) { return false }
                }
            }
            return true
        default: return true
        }
    }

    private func hasType(_ value: JSONValue, _ name: String) -> Bool {
        switch (value, name) {
        case (.null, "null"), (.bool, "boolean"), (.string, "string"), (.array, "array"), (.object, "object"), (.number, "number"):
            return true
        case (.number(let n), "integer"):
            if legacyNumbers && (n.contains(".") || n.contains("e") || n.contains("E")) { return false }
            return JSONValue.isIntegral(n)
        default: return false
        }
    }

    /// True when `pattern` is found anywhere in `text` (JSON Schema regexes are not anchored).
    private mutating func matches(_ pattern: String, _ text: String, _ p: String) throws(GrammarError) -> Bool {
        let regex: NSRegularExpression
        if let r = regexes[pattern] {
            regex = r
        } else {
            guard let r = try? NSRegularExpression(pattern: pattern) else {
                throw GrammarError.badSchema("'\(pattern)' is not a regular expression", pointer: p)
            }
            regexes[pattern] = r
            regex = r
        }
        return regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    private func resolve(_ ref: String, _ ptr: String) throws(GrammarError) -> (JSONValue, String) {
        guard ref.hasPrefix("#") else {
            throw GrammarError.unsupportedKeyword("$ref", pointer: ptr + "/$ref (only references inside the schema (#...) are resolved)")
        }
        let path = String(ref.dropFirst())
        guard let node = JSONSchemaCompiler.node(at: path, in: root) else {
            throw GrammarError.badSchema("'$ref' '\(ref)' points to nothing", pointer: ptr + "/$ref")
        }
        return (node, path)
    }
}
