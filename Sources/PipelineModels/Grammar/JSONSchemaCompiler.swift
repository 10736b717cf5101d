import Foundation

/// Compiles a JSON Schema to GBNF for the grammar engine. The grammar accepts only JSON text
/// whose value is valid under the schema (with the whitespace rule below), and accepts the
/// canonical text (`JSONValue.canonicalText`, properties in the schema's order) of every valid
/// value. What it cannot enforce exactly it refuses, naming the keyword and its JSON pointer:
/// nothing is silently dropped (llama.cpp's converter drops what it does not know).
///
/// Supported: `type` (all seven, or a list), `properties`/`required`/`additionalProperties`,
/// `items`/`prefixItems` (and draft-4 tuple `items` with `additionalItems`), `minItems`/`maxItems`,
/// `enum`/`const`, `anyOf`/`oneOf` (as alternatives), `allOf` (merged), `$ref` to `#...` with
/// `$defs`/`definitions` (recursive), `minLength`/`maxLength`, `pattern` (see `RegexToGBNF`),
/// `format` date/time/date-time/uuid/email, integer `minimum`/`maximum` (and exclusive ones,
/// digit by digit), number bounds that are whole numbers. Annotations (`title`, `description`,
/// `default`, `examples`...) and keywords no JSON Schema draft defines are ignored, as the
/// specification says; known validation keywords not in the list are refused.
public struct JSONSchemaCompiler {
    /// Validation keywords this compiler does not enforce.
    static let unsupported: Set<String> = [
        "if", "then", "else", "patternProperties", "propertyNames", "dependencies", "dependentRequired",
        "dependentSchemas", "contains", "minContains", "maxContains",
        "multipleOf", "unevaluatedProperties", "unevaluatedItems", "$dynamicRef", "$recursiveRef",
    ]
    static let formats: [String: String] = [
        "date": "jdate",
        "time": "jtime",
        "date-time": "jdate \"T\" jtime",
        "uuid": "[0-9a-fA-F]{8} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{12}",
        "email": "[a-zA-Z0-9._%+-]+ \"@\" [a-zA-Z0-9-]+ (\".\" [a-zA-Z0-9-]+)+",
    ]
    /// Whitespace between tokens, as llama.cpp's converter allows it: none, one space, or a line
    /// break and up to 20 spaces or tabs.
    static let primitives = #"""
        ws ::= | " " | "\n" [ \t]{0,20}
        jchar ::= [^"\\\x00-\x1F] | "\\" (["\\/bfnrt] | "u" jhex)
        jhex ::= [0-9a-cA-CeEfF] [0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2}
        jkeychar ::= [^"\\\x00-\x1F] | "\\" ["\\/bfnrt]
        jstring ::= "\"" jchar* "\""
        jintpart ::= "0" | [1-9] [0-9]*
        jinteger ::= "-"? jintpart
        jfrac ::= "." [0-9]+
        jexp ::= [eE] [-+]? [0-9]+
        jnumber ::= "-"? jintpart jfrac? jexp?
        jbool ::= "true" | "false"
        jnull ::= "null"
        jvalue ::= jobject | jarray | jstring | jnumber | jbool | jnull
        jobject ::= "{" ws ( jkv ( "," ws jkv )* )? "}"
        jkv ::= jstring ws ":" ws jvalue ws
        jarray ::= "[" ws ( jvalue ws ( "," ws jvalue ws )* )? "]"
        jdate ::= jyear "-" ( jmonth31 "-" ( "0" [1-9] | [12] [0-9] | "3" [01] ) | jmonth30 "-" ( "0" [1-9] | [12] [0-9] | "30" ) | "02-" ( "0" [1-9] | "1" [0-9] | "2" [0-8] ) ) | jleapyear "-02-29"
        jyear ::= [1-9] [0-9]{3} | "0" [1-9] [0-9]{2} | "00" [1-9] [0-9] | "000" [1-9]
        jmonth31 ::= "01" | "03" | "05" | "07" | "08" | "10" | "12"
        jmonth30 ::= "04" | "06" | "09" | "11"
        jleapyear ::= [0-9] [0-9] jleap2 | jleap2 "00"
        jleap2 ::= "0" [48] | [13579] [26] | [2468] [048]
        jtime ::= ( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] ":" [0-5] [0-9] ( "." [0-9]+ )? ( "Z" | [+-] ( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] )
        """#

    let root: JSONValue
    private var rules: [(String, String)] = []
    private var refRules: [String: String] = [:]
    /// Rules for merged (allOf) schemas by their canonical text, so a recursive merge ends.
    private var mergedRules: [String: String] = [:]
    private var depth = 0
    private var counter = 0

    /// Drafts 3 and 4 count only numbers written without a fraction as integers; later drafts
    /// (and schemas that do not say) count every whole number, `1.0` too.
    let strictIntegers: Bool

    init(_ root: JSONValue) {
        self.root = root
        let draft = root["$schema"]?.string ?? ""
        strictIntegers = draft.contains("draft-04") || draft.contains("draft-03")
    }

    /// GBNF text for a schema (its `root` rule is the schema).
    public static func gbnf(for schema: JSONValue) throws -> String {
        var c = JSONSchemaCompiler(schema)
        let top = try c.compile(schema, "")
        var out = "root ::= " + top + "\n"
        for (name, body) in c.rules { out += name + " ::= " + body + "\n" }
        out += primitives + "\n"
        return out
    }

    /// The compiled grammar for a schema.
    public static func grammar(for schema: JSONValue) throws -> Grammar {
        let text = try gbnf(for: schema)
        do {
            return try Grammar(gbnf: text)
        } catch {
            throw GrammarError.badSchema("the schema compiles to a grammar llama.cpp's rules refuse: \(error)", pointer: "")
        }
    }

    /// Property names in the order the compiled grammar expects them (first appearance in the
    /// schema: `properties` in order, then names only `required`), for writing a value in the
    /// form the grammar accepts (`JSONValue.reordered`).
    public static func propertyOrder(_ schema: JSONValue) -> [String: Int] {
        var rank: [String: Int] = [:]
        func walk(_ v: JSONValue) {
            switch v {
            case .object(let fields):
                if let props = v["properties"]?.fields {
                    for (name, _) in props where rank[name] == nil { rank[name] = rank.count }
                }
                if let req = v["required"]?.array {
                    for name in req.compactMap(\.string) where rank[name] == nil { rank[name] = rank.count }
                }
                for (_, child) in fields { walk(child) }
            case .array(let items): items.forEach(walk)
            default: break
            }
        }
        walk(schema)
        return rank
    }

    /// A value with each object's keys in the order the grammar for `schema` expects them,
    /// following the schema (refs, allOf merges; for anyOf/oneOf the alternative whose
    /// properties best fit the value): its `canonicalText` is then a text the grammar accepts
    /// when the value is valid.
    public static func arrange(_ value: JSONValue, schema: JSONValue) -> JSONValue {
        JSONSchemaCompiler(schema).arrange(value, schema, depth: 0)
    }

    func arrange(_ value: JSONValue, _ schema: JSONValue, depth: Int) -> JSONValue {
        guard depth < 64, let flat = try? flatten(schema, ""), let fields = flat.fields else { return value }
        for key in ["anyOf", "oneOf"] {
            guard let alts = flat[key]?.array, !alts.isEmpty else { continue }
            let rest = fields.filter { $0.0 != key }
            var best: (score: Int, schema: JSONValue)? = nil
            for alt in alts {
                let resolved = (try? flatten(alt, "")) ?? alt
                let merged = rest.contains { !Self.annotations.contains($0.0) } ? ((try? merge([(.object(rest), ""), (resolved, "")], "")) ?? resolved) : resolved
                var score = 0
                let t = merged["type"].flatMap { $0.string.map { [$0] } ?? $0.array?.compactMap(\.string) } ?? []
                if t.isEmpty || Self.hasType(value, t) { score += 1000 }
                if let keys = value.fields?.map(\.0), let props = merged["properties"]?.fields {
                    score += keys.filter { k in props.contains { $0.0 == k } }.count * 10
                    score -= props.filter { p in !keys.contains(p.0) }.count
                }
                if best == nil || score > best!.score { best = (score, merged) }
            }
            return arrange(value, best!.schema, depth: depth + 1)
        }
        switch value {
        case .object(let members):
            let props = flat["properties"]?.fields ?? []
            var order: [String] = props.map(\.0)
            for r in flat["required"]?.array?.compactMap(\.string) ?? [] where !order.contains(r) { order.append(r) }
            let sorted = members.enumerated().sorted { a, b in
                let ra = order.firstIndex(of: a.element.0) ?? Int.max, rb = order.firstIndex(of: b.element.0) ?? Int.max
                return ra != rb ? ra < rb : a.offset < b.offset
            }
            return .object(sorted.map { m in
                let (k, v) = m.element
                if let sub = props.first(where: { $0.0 == k })?.1 { return (k, arrange(v, sub, depth: depth + 1)) }
                if let ap = flat["additionalProperties"], ap.fields != nil { return (k, arrange(v, ap, depth: depth + 1)) }
                return (k, v)
            })
        case .array(let items):
            let prefix = flat["prefixItems"]?.array ?? flat["items"]?.array ?? []
            let rest: JSONValue? = flat["prefixItems"] != nil ? flat["items"] : (flat["items"]?.array != nil ? flat["additionalItems"] : flat["items"])
            return .array(items.enumerated().map { i, v in
                if i < prefix.count { return arrange(v, prefix[i], depth: depth + 1) }
                if let rest, rest.fields != nil { return arrange(v, rest, depth: depth + 1) }
                return v
            })
        default:
            return value
        }
    }

    // MARK: - Helpers

    private mutating func rule(_ hint: String, _ body: String) -> String {
        counter += 1
        let name = "s\(counter)-" + String(hint.map { $0.isLetter || $0.isNumber ? $0 : "-" }.prefix(24))
        rules.append((name, body))
        return name
    }

    private mutating func reserve(_ hint: String) -> String {
        counter += 1
        return "s\(counter)-" + String(hint.map { $0.isLetter || $0.isNumber ? $0 : "-" }.prefix(24))
    }

    static func escapePointer(_ s: String) -> String {
        s.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    /// A GBNF string literal for some text (for building grammars from strings, e.g. choices).
    public static func gbnfLiteral(_ text: String) -> String { literal(text) }

    /// A GBNF string literal for some text.
    static func literal(_ text: String) -> String {
        var out = "\""
        for c in text.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if c.value < 0x20 || c.value == 0x7F {
                    out += "\\x" + String(c.value, radix: 16).leftPad(2)
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        return out + "\""
    }

    private func resolve(_ ref: String, _ ptr: String) throws(GrammarError) -> (JSONValue, String) {
        guard ref.hasPrefix("#") else {
            throw GrammarError.badSchema("'$ref' to '\(ref)': only references inside the schema (#...) are resolved", pointer: ptr)
        }
        let path = String(ref.dropFirst())
        if !path.isEmpty && !path.hasPrefix("/") { throw GrammarError.badSchema("'$ref' '\(ref)' is not a JSON pointer", pointer: ptr) }
        guard let node = Self.node(at: path, in: root) else {
            throw GrammarError.badSchema("'$ref' '\(ref)' points to nothing", pointer: ptr + "/$ref")
        }
        return (node, path)
    }

    /// The value at a JSON pointer (`""` is the whole document; `~0`, `~1` and percent escapes
    /// decoded), or nil.
    static func node(at path: String, in root: JSONValue) -> JSONValue? {
        if path.isEmpty { return root }
        guard path.hasPrefix("/") else { return nil }
        var node = root
        for raw in path.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            let part = (String(raw).removingPercentEncoding ?? String(raw)).replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            if let next = node[part] {
                node = next
            } else if let items = node.array, let i = Int(part), items.indices.contains(i) {
                node = items[i]
            } else {
                return nil
            }
        }
        return node
    }

    // MARK: - Schemas

    /// A schema with a top-level `$ref` (no siblings) or `allOf` replaced by what it stands for.
    func flatten(_ s: JSONValue, _ ptr: String, depth: Int = 0) throws(GrammarError) -> JSONValue {
        guard depth < 20, let fields = s.fields else { return s }
        if let ref = s["$ref"]?.string {
            let (node, _) = try resolve(ref, ptr)
            let siblings = fields.filter { !Self.annotations.contains($0.0) && $0.0 != "$ref" }
            if siblings.isEmpty { return try flatten(node, ptr, depth: depth + 1) }
            return try merge([(node, ptr), (.object(siblings), ptr)], ptr)
        }
        if let all = s["allOf"]?.array {
            var list: [(JSONValue, String)] = [(.object(fields.filter { $0.0 != "allOf" }), ptr)]
            for p in all { list.append((try flatten(p, ptr, depth: depth + 1), ptr)) }
            return try merge(list, ptr)
        }
        return s
    }

    /// True only when no value can be valid under both schemas (a sound, partial check):
    /// different types, different constants, or a property both require with disjoint schemas.
    static func disjoint(_ a: JSONValue, _ b: JSONValue, depth: Int) -> Bool {
        guard depth < 8, a.fields != nil, b.fields != nil else { return false }
        func types(_ s: JSONValue) -> Set<String>? {
            if let c = s["const"] { return [c.typeName == "integer" ? "number" : c.typeName] }
            if let e = s["enum"]?.array { return Set(e.map { $0.typeName == "integer" ? "number" : $0.typeName }) }
            guard let t = s["type"] else {
                if s["properties"] != nil || s["required"] != nil { return nil }
                return nil
            }
            let names = t.string.map { [$0] } ?? t.array?.compactMap(\.string) ?? []
            return Set(names.map { $0 == "integer" ? "number" : $0 })
        }
        if let ta = types(a), let tb = types(b), ta.isDisjoint(with: tb) { return true }
        func literals(_ s: JSONValue) -> [JSONValue]? { s["const"].map { [$0] } ?? s["enum"]?.array }
        if let la = literals(a), let lb = literals(b), !la.contains(where: { x in lb.contains(x) }) { return true }
        let ra = Set(a["required"]?.array?.compactMap(\.string) ?? [])
        let rb = Set(b["required"]?.array?.compactMap(\.string) ?? [])
        for name in ra.intersection(rb) {
            if let pa = a["properties"]?[name], let pb = b["properties"]?[name], disjoint(pa, pb, depth: depth + 1) { return true }
        }
        // An object that must have a property the other forbids.
        for (x, y, rx) in [(a, b, ra), (b, a, rb)] {
            if case .bool(false)? = y["additionalProperties"], let props = y["properties"]?.fields {
                if rx.contains(where: { name in !props.contains { $0.0 == name } }) && types(x).map({ $0 == ["object"] }) ?? true && types(y) == ["object"] {
                    return true
                }
            }
        }
        return false
    }

    private mutating func compileMerged(_ merged: JSONValue, _ ptr: String) throws(GrammarError) -> String {
        let key = merged.canonicalText
        if let name = mergedRules[key] { return name }
        let name = reserve("allof")
        mergedRules[key] = name
        rules.append((name, try compile(merged, ptr)))
        return name
    }

    /// A GBNF expression for the values valid under `schema` (at pointer `ptr`).
    mutating func compile(_ schema: JSONValue, _ ptr: String) throws(GrammarError) -> String {
        depth += 1
        defer { depth -= 1 }
        if depth > 100 { throw GrammarError.badSchema("nested more than 100 deep", pointer: ptr) }
        if case .bool(let b) = schema {
            if b { return "jvalue" }
            throw GrammarError.badSchema("the schema 'false' admits no value", pointer: ptr)
        }
        guard let fields = schema.fields else {
            throw GrammarError.badSchema("a schema must be an object or a boolean, not \(schema.typeName)", pointer: ptr)
        }
        if let listed = try listedValues(schema, ptr) { return listed }
        if let key = fields.map(\.0).first(where: Self.unsupported.contains) {
            throw GrammarError.unsupportedKeyword(key, pointer: ptr + "/" + Self.escapePointer(key))
        }
        if case .bool(true)? = schema["uniqueItems"] {
            throw GrammarError.unsupportedKeyword("uniqueItems", pointer: ptr + "/uniqueItems")
        }
        if let ref = schema["$ref"] {
            guard let target = ref.string else { throw GrammarError.badSchema("'$ref' must be a string", pointer: ptr + "/$ref") }
            let siblings = fields.filter { !Self.annotations.contains($0.0) && $0.0 != "$ref" }
            if siblings.isEmpty {
                if let name = refRules[target] { return name }
                let (node, path) = try resolve(target, ptr)
                let name = reserve("ref" + path)
                refRules[target] = name
                let body = try compile(node, path)
                rules.append((name, body))
                return name
            }
            let (node, _) = try resolve(target, ptr)
            return try compileMerged(try merge([(node, ptr + "/$ref"), (.object(siblings), ptr)], ptr), ptr)
        }
        if let all = schema["allOf"] {
            guard let parts = all.array, !parts.isEmpty else { throw GrammarError.badSchema("'allOf' must be a non-empty list", pointer: ptr + "/allOf") }
            var list: [(JSONValue, String)] = [(.object(fields.filter { $0.0 != "allOf" }), ptr)]
            for (i, p) in parts.enumerated() { list.append((p, ptr + "/allOf/\(i)")) }
            return try compileMerged(try merge(list, ptr + "/allOf"), ptr)
        }
        for key in ["anyOf", "oneOf"] {
            guard let alts = schema[key] else { continue }
            guard let list = alts.array, !list.isEmpty else { throw GrammarError.badSchema("'\(key)' must be a non-empty list", pointer: ptr + "/" + key) }
            let rest = fields.filter { $0.0 != key }
            if key == "oneOf" {
                let resolved = list.map { (try? self.flatten($0, ptr)) ?? $0 }
                for a in resolved.indices {
                    for b in resolved.indices where b > a && !Self.disjoint(resolved[a], resolved[b], depth: 0) {
                        throw GrammarError.unsupportedKeyword("oneOf", pointer: ptr + "/oneOf (alternatives \(a) and \(b) may overlap; only provably exclusive alternatives are compiled)")
                    }
                }
            }
            var exprs: [String] = []
            for (i, alt) in list.enumerated() {
                let p = ptr + "/\(key)/\(i)"
                let sub = rest.contains { !Self.annotations.contains($0.0) } ? try merge([(.object(rest), ptr), (alt, p)], p) : alt
                exprs.append(try compile(sub, p))
            }
            return rule(key, exprs.joined(separator: " | "))
        }
        var types = try typeSet(schema, ptr)
        if let n = schema["not"] {
            if Self.isNothing(n) { throw GrammarError.badSchema("'not' of a schema every value meets: no value is valid", pointer: ptr + "/not") }
            if case .bool(false) = n {
                // not false: no constraint.
            } else if let nf = n.fields, nf.allSatisfy({ $0.0 == "type" || Self.annotations.contains($0.0) }), nf.contains(where: { $0.0 == "type" }) {
                let excluded = try typeSet(n, ptr + "/not")
                if excluded.contains("integer") && types.contains("number") {
                    throw GrammarError.unsupportedKeyword("not", pointer: ptr + "/not (numbers that are not integers)")
                }
                types.removeAll { excluded.contains($0) || ($0 == "integer" && excluded.contains("number")) }
                if types.isEmpty { throw GrammarError.badSchema("'not' excludes every allowed type", pointer: ptr + "/not") }
            } else {
                throw GrammarError.unsupportedKeyword("not", pointer: ptr + "/not (only 'not: {type: ...}' and 'not: {}' are enforced)")
            }
        }
        if let c = schema["const"] {
            return try literalRule([c], types: types, ptr + "/const")
        }
        if let e = schema["enum"] {
            guard let values = e.array, !values.isEmpty else { throw GrammarError.badSchema("'enum' must be a non-empty list", pointer: ptr + "/enum") }
            return try literalRule(values, types: types, ptr + "/enum")
        }
        var alts: [String] = []
        for t in types {
            switch t {
            case "null": alts.append("jnull")
            case "boolean": alts.append("jbool")
            case "string": alts.append(try string(schema, ptr))
            case "integer": alts.append(try integer(schema, ptr))
            case "number": alts.append(try number(schema, ptr))
            case "object": alts.append(try object(schema, ptr))
            case "array": alts.append(try array(schema, ptr))
            default: break
            }
        }
        if alts.count == 1 { return alts[0] }
        return rule("types", alts.joined(separator: " | "))
    }

    /// The grammar of a schema that admits a finite set of values (an `enum` or `const` at its
    /// top or in an `allOf` part) together with keywords the grammar cannot express: the listed
    /// values the whole schema accepts (`JSONSchemaValidator`), or nil where the schema has no
    /// such list, needs nothing beyond the ordinary path, or holds what the validator cannot
    /// decide (the ordinary path then compiles or refuses it).
    private mutating func listedValues(_ schema: JSONValue, _ ptr: String) throws(GrammarError) -> String? {
        guard let fields = schema.fields, fields.contains(where: { Self.unsupported.contains($0.0) || $0.0 == "allOf" || $0.0 == "not" }),
              let candidates = Self.candidates(schema, root: root, depth: 0) else { return nil }
        var validator = JSONSchemaValidator(root: root)
        var kept: [JSONValue] = []
        for v in candidates where !kept.contains(v) {
            guard let ok = try? validator.isValid(v, schema, ptr) else { return nil }
            if ok { kept.append(v) }
        }
        if kept.isEmpty { throw GrammarError.badSchema("no listed value ('enum' or 'const') is valid under the rest of the schema", pointer: ptr) }
        return try literalRule(kept, types: Self.allTypes, ptr + (schema["const"] != nil ? "/const" : "/enum"))
    }

    /// A finite list every valid value is in: `const` or `enum` of the schema or of one of its
    /// `allOf` parts (through `$ref`s), or nil.
    static func candidates(_ schema: JSONValue, root: JSONValue, depth: Int) -> [JSONValue]? {
        guard depth < 16, schema.fields != nil else { return nil }
        if let ref = schema["$ref"]?.string, JSONSchemaValidator(root: root).legacyRefs {
            // Up to draft 7 a reference hides its siblings: only what it points to constrains.
            guard ref.hasPrefix("#"), let node = node(at: String(ref.dropFirst()), in: root) else { return nil }
            return candidates(node, root: root, depth: depth + 1)
        }
        if let c = schema["const"] { return [c] }
        if let e = schema["enum"]?.array { return e }
        var parts = schema["allOf"]?.array ?? []
        if let ref = schema["$ref"]?.string, ref.hasPrefix("#"), let node = node(at: String(ref.dropFirst()), in: root) { parts.append(node) }
        for p in parts {
            if let list = candidates(p, root: root, depth: depth + 1) { return list }
        }
        return nil
    }

    /// True for schemas every value meets (`{}`, `true`), so that `not` of them admits nothing.
    static func isNothing(_ n: JSONValue) -> Bool {
        if case .bool(true) = n { return true }
        if let f = n.fields { return f.allSatisfy { annotations.contains($0.0) } }
        return false
    }

    /// True for schemas no value meets (`false`, `{not: {}}`): a property with one is forbidden.
    static func isNever(_ s: JSONValue) -> Bool {
        if case .bool(false) = s { return true }
        if let f = s.fields, let n = s["not"], isNothing(n) { return f.allSatisfy { $0.0 == "not" || annotations.contains($0.0) } }
        return false
    }

    static let annotations: Set<String> = [
        "title", "description", "$schema", "$id", "id", "$comment", "default", "examples", "example", "deprecated",
        "readOnly", "writeOnly", "$defs", "definitions", "$anchor", "contentMediaType", "contentEncoding",
    ]
    static let allTypes = ["object", "array", "string", "number", "boolean", "null"]

    private func typeSet(_ schema: JSONValue, _ ptr: String) throws(GrammarError) -> [String] {
        guard let t = schema["type"] else { return Self.allTypes }
        var names: [String] = []
        if let s = t.string { names = [s] } else if let list = t.array, list.allSatisfy({ $0.string != nil }) { names = list.compactMap(\.string) } else {
            throw GrammarError.badSchema("'type' must be a string or a list of strings", pointer: ptr + "/type")
        }
        for n in names where !(Self.allTypes + ["integer"]).contains(n) {
            throw GrammarError.badSchema("unknown type '\(n)'", pointer: ptr + "/type")
        }
        if names.isEmpty { throw GrammarError.badSchema("'type' is an empty list", pointer: ptr + "/type") }
        if names.contains("number") { names.removeAll { $0 == "integer" } }
        return names
    }

    private mutating func literalRule(_ values: [JSONValue], types: [String], _ ptr: String) throws(GrammarError) -> String {
        var texts: [String] = []
        for (i, v) in values.enumerated() {
            if !Self.hasType(v, types) { continue }
            if Self.hasUnorderedObject(v) {
                throw GrammarError.unsupportedKeyword(ptr.hasSuffix("const") ? "const" : "enum",
                    pointer: ptr + (ptr.hasSuffix("const") ? "" : "/\(i)") + " (an object value with several keys: key order is not enforced)")
            }
            for form in Self.forms(v) where !texts.contains(Self.literal(form)) { texts.append(Self.literal(form)) }
        }
        if texts.isEmpty { throw GrammarError.badSchema("no value of the list has an allowed type", pointer: ptr) }
        return rule("enum", texts.joined(separator: " | "))
    }

    /// The canonical texts a value may take: a whole number as `1` and `1.0` (equal values).
    static func forms(_ v: JSONValue) -> [String] {
        switch v {
        case .number(let n):
            let c = JSONValue.canonicalNumber(n)
            guard JSONValue.isIntegral(n) else { return [c] }
            let whole = c.hasSuffix(".0") ? String(c.dropLast(2)) : c
            return [whole, whole + ".0"]
        case .array(let items):
            var out = [""]
            for item in items {
                let f = forms(item)
                out = out.flatMap { prefix in f.map { prefix.isEmpty ? $0 : prefix + "," + $0 } }
                if out.count > 64 { return [v.canonicalText] }
            }
            return out.map { "[" + $0 + "]" }
        case .object(let fields) where fields.count == 1:
            var key = ""
            JSONValue.writeString(fields[0].0, into: &key)
            return forms(fields[0].1).map { "{" + key + ":" + $0 + "}" }
        default: return [v.canonicalText]
        }
    }

    static func hasType(_ v: JSONValue, _ types: [String]) -> Bool {
        let t = v.typeName
        return types.contains(t) || (t == "integer" && types.contains("number"))
    }

    static func hasUnorderedObject(_ v: JSONValue) -> Bool {
        switch v {
        case .object(let f): return f.count > 1 || f.contains { hasUnorderedObject($0.1) }
        case .array(let a): return a.contains(where: hasUnorderedObject)
        default: return false
        }
    }

    /// allOf: one schema with every part's keywords, where they can be combined exactly.
    private func merge(_ parts: [(JSONValue, String)], _ ptr: String) throws(GrammarError) -> JSONValue {
        var out: [(String, JSONValue)] = []
        var properties: [(String, JSONValue)] = []
        var required: [JSONValue] = []
        var types: Set<String>? = nil
        var partsWithClosedProperties = 0
        var partsWithProperties = 0
        for (raw, p) in parts {
            var part = raw
            if case .bool(true) = part { continue }
            if let ref = part["$ref"]?.string, part.fields?.count == 1 { part = try resolve(ref, p).0 }
            guard let fields = part.fields else { throw GrammarError.badSchema("an allOf part must be an object schema", pointer: p) }
            if part["allOf"] != nil || part["$ref"] != nil || part["anyOf"] != nil || part["oneOf"] != nil {
                if parts.count > 1 && fields.contains(where: { ["allOf", "$ref", "anyOf", "oneOf"].contains($0.0) }) {
                    // Nested combinators: merge what can be merged, refuse the rest.
                    if let nested = part["allOf"]?.array, part.fields?.count == 1 {
                        let sub = try merge(nested.enumerated().map { ($0.element, p + "/allOf/\($0.offset)") }, p)
                        for f in sub.fields ?? [] { out.append(f) }
                        continue
                    }
                    throw GrammarError.unsupportedKeyword(fields.first { ["allOf", "$ref", "anyOf", "oneOf"].contains($0.0) }!.0,
                                                          pointer: p + " (combined with other allOf parts)")
                }
            }
            if part["properties"] != nil || part["additionalProperties"] != nil { partsWithProperties += 1 }
            if let ap = part["additionalProperties"], ap != .bool(true) { partsWithClosedProperties += 1 }
            for (key, value) in fields {
                switch key {
                case "properties":
                    for (name, s) in value.fields ?? [] {
                        if let at = properties.firstIndex(where: { $0.0 == name }) {
                            if properties[at].1 != s {
                                throw GrammarError.unsupportedKeyword("allOf", pointer: p + "/properties/" + Self.escapePointer(name) + " (defined differently in two parts)")
                            }
                        } else {
                            properties.append((name, s))
                        }
                    }
                case "required":
                    for r in value.array ?? [] where !required.contains(r) { required.append(r) }
                case "type":
                    let set = Set(value.string.map { [$0] } ?? value.array?.compactMap(\.string) ?? [])
                    let widened = set.contains("number") ? set.union(["integer"]) : set
                    types = types.map { $0.intersection(widened).union($0.contains("integer") && widened.contains("number") ? ["integer"] : []) } ?? widened
                default:
                    if Self.annotations.contains(key) { continue }
                    if let at = out.firstIndex(where: { $0.0 == key }) {
                        if out[at].1 != value {
                            guard let combined = Self.combine(key, out[at].1, value) else {
                                throw GrammarError.unsupportedKeyword("allOf", pointer: p + "/" + Self.escapePointer(key) + " (set differently in two parts)")
                            }
                            out[at].1 = combined
                        }
                    } else {
                        out.append((key, value))
                    }
                }
            }
        }
        if partsWithClosedProperties > 0 && partsWithProperties > 1 {
            throw GrammarError.unsupportedKeyword("allOf", pointer: ptr + " (additionalProperties in one part, properties in another)")
        }
        if let types {
            if types.isEmpty { throw GrammarError.badSchema("allOf parts allow no common type", pointer: ptr) }
            var list = Self.allTypes.filter { types.contains($0) }
            if types.contains("integer") && !types.contains("number") { list.append("integer") }
            out.append(("type", .array(list.map { .string($0) })))
        }
        if !properties.isEmpty { out.append(("properties", .object(properties))) }
        if !required.isEmpty { out.append(("required", .array(required))) }
        return .object(out)
    }

    /// One keyword's two values from two allOf parts, as one value meaning both, where that is
    /// exact: the tighter bound, the common enum values, a nested allOf for subschemas.
    static func combine(_ key: String, _ a: JSONValue, _ b: JSONValue) -> JSONValue? {
        switch key {
        case "minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties":
            guard let x = a.double, let y = b.double else { return nil }
            return x >= y ? a : b
        case "maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties":
            guard let x = a.double, let y = b.double else { return nil }
            return x <= y ? a : b
        case "enum":
            guard let x = a.array, let y = b.array else { return nil }
            return .array(x.filter { v in y.contains(v) })
        case "items", "additionalItems", "not":
            if key == "not" { return nil }
            guard a.fields != nil || a.array == nil, b.fields != nil || b.array == nil else { return nil }
            return .object([("allOf", .array([a, b]))])
        case "additionalProperties":
            if case .bool(false) = a { return a }
            if case .bool(false) = b { return b }
            if case .bool(true) = a { return b }
            if case .bool(true) = b { return a }
            return .object([("allOf", .array([a, b]))])
        default:
            return nil
        }
    }

    /// `item` repeated min...max times (max nil: unbounded), exact beyond llama.cpp's limit of
    /// 2,000 repetitions (where `{m,n}` becomes unbounded): blocks of 1,000 and a remainder.
    /// Nil when `min` is above 1,000.
    static func repeated(_ item: String, min: Int, max: Int?) -> String? {
        guard min <= 1000 else { return nil }
        guard let max, max > 1000 else { return item + (max.map { "{\(min),\($0)}" } ?? "{\(min),}") }
        let span = max - min
        let prefix = min > 0 ? item + "{\(min)} " : ""
        if span <= 1000 { return prefix + item + "{0,\(span)}" }
        let q = span / 1000, r = span % 1000
        let block = "(" + item + "{1000})"
        let below = (q > 1 ? block + "{0,\(q - 1)} " : "") + item + "{0,999}"
        let top = block + "{\(q)} " + item + "{0,\(r)}"
        return prefix + "(" + below + " | " + top + ")"
    }

    // MARK: - Strings

    private mutating func string(_ schema: JSONValue, _ ptr: String) throws(GrammarError) -> String {
        let minLength = try count(schema, "minLength", ptr) ?? 0
        let maxLength = try count(schema, "maxLength", ptr)
        if let maxLength, maxLength < minLength { throw GrammarError.badSchema("minLength \(minLength) > maxLength \(maxLength)", pointer: ptr) }
        if let f = schema["format"] {
            guard let name = f.string, let body = Self.formats[name] else {
                throw GrammarError.unsupportedKeyword("format", pointer: ptr + "/format (\(schema["format"]?.string ?? "?"): only date, time, date-time, uuid, email)")
            }
            if schema["pattern"] != nil { throw GrammarError.unsupportedKeyword("pattern", pointer: ptr + "/pattern (with format)") }
            if minLength > 0 || maxLength != nil { throw GrammarError.unsupportedKeyword(maxLength != nil ? "maxLength" : "minLength", pointer: ptr + " (with format)") }
            return rule("format-" + name, "\"\\\"\" " + body + " \"\\\"\"")
        }
        if let p = schema["pattern"] {
            guard let pattern = p.string else { throw GrammarError.badSchema("'pattern' must be a string", pointer: ptr + "/pattern") }
            if minLength > 0 || maxLength != nil {
                // ^A{m,n}$ with one character atom: intersect the counts exactly.
                guard let (atom, qmin, qmax) = RegexToGBNF.singleAtom(pattern, pointer: ptr + "/pattern") else {
                    throw GrammarError.unsupportedKeyword(maxLength != nil ? "maxLength" : "minLength", pointer: ptr + " (with pattern)")
                }
                let lo = max(qmin, minLength)
                let hi: Int? = [qmax, maxLength].compactMap { $0 }.min()
                if let hi, hi < lo { throw GrammarError.badSchema("pattern and length bounds admit no string", pointer: ptr) }
                guard (hi ?? 0) <= 100_000, let body = Self.repeated("(" + atom + ")", min: lo, max: hi) else {
                    throw GrammarError.unsupportedKeyword("minLength", pointer: ptr + " (above 1000)")
                }
                return rule("pattern", "\"\\\"\" " + body + " \"\\\"\"")
            }
            let body = try RegexToGBNF.translate(pattern, pointer: ptr + "/pattern")
            return rule("pattern", "\"\\\"\" " + body + " \"\\\"\"")
        }
        if minLength == 0 && maxLength == nil { return "jstring" }
        guard (maxLength ?? 0) <= 100_000, let body = Self.repeated("jchar", min: minLength, max: maxLength) else {
            throw GrammarError.unsupportedKeyword(minLength > 1000 ? "minLength" : "maxLength", pointer: ptr + " (above 1000, or maxLength above 100000)")
        }
        return rule("string", "\"\\\"\" " + body + " \"\\\"\"")
    }

    private func count(_ schema: JSONValue, _ key: String, _ ptr: String) throws(GrammarError) -> Int? {
        guard let v = schema[key] else { return nil }
        guard case .number(let n) = v, let d = Double(n), d >= 0, d == d.rounded(), d < 1e9 else {
            throw GrammarError.badSchema("'\(key)' must be a non-negative integer", pointer: ptr + "/" + key)
        }
        return Int(d)
    }

    // MARK: - Numbers

    private struct Bounds {
        var low: Double?
        var lowExclusive = false
        var high: Double?
        var highExclusive = false
    }

    private func bounds(_ schema: JSONValue, _ ptr: String) throws(GrammarError) -> Bounds {
        var b = Bounds()
        func num(_ key: String) throws(GrammarError) -> Double? {
            guard let v = schema[key] else { return nil }
            if case .bool = v { return nil }  // draft-4 exclusiveMinimum: true
            guard let d = v.double, d.isFinite else { throw GrammarError.badSchema("'\(key)' must be a number", pointer: ptr + "/" + key) }
            return d
        }
        b.low = try num("minimum")
        b.high = try num("maximum")
        if case .bool(let x)? = schema["exclusiveMinimum"] { b.lowExclusive = x && b.low != nil }
        if case .bool(let x)? = schema["exclusiveMaximum"] { b.highExclusive = x && b.high != nil }
        if let x = try num("exclusiveMinimum"), b.low.map({ x >= $0 }) ?? true { b.low = x; b.lowExclusive = true }
        if let x = try num("exclusiveMaximum"), b.high.map({ x <= $0 }) ?? true { b.high = x; b.highExclusive = true }
        return b
    }

    private mutating func integer(_ schema: JSONValue, _ ptr: String) throws(GrammarError) -> String {
        let b = try bounds(schema, ptr)
        let zero = strictIntegers ? "" : " (\".\" \"0\"+)?"
        if b.low == nil && b.high == nil { return strictIntegers ? "jinteger" : "(jinteger" + zero + ")" }
        let limit = 1e15
        var lo: Int64? = nil
        var hi: Int64? = nil
        if let l = b.low {
            guard abs(l) < limit else { throw GrammarError.unsupportedKeyword("minimum", pointer: ptr + " (beyond ±1e15)") }
            var v = l.rounded(.up)
            if b.lowExclusive && v == l { v += 1 }
            lo = Int64(v)
        }
        if let h = b.high {
            guard abs(h) < limit else { throw GrammarError.unsupportedKeyword("maximum", pointer: ptr + " (beyond ±1e15)") }
            var v = h.rounded(.down)
            if b.highExclusive && v == h { v -= 1 }
            hi = Int64(v)
        }
        if let lo, let hi, lo > hi { throw GrammarError.badSchema("no integer between minimum and maximum", pointer: ptr) }
        return rule("int", IntegerRange.gbnf(low: lo, high: hi) + zero)
    }

    private mutating func number(_ schema: JSONValue, _ ptr: String) throws(GrammarError) -> String {
        let b = try bounds(schema, ptr)
        if b.low == nil && b.high == nil { return "jnumber" }
        for (v, key) in [(b.low, "minimum"), (b.high, "maximum")] {
            if let v, v != v.rounded() || abs(v) >= 1e15 {
                throw GrammarError.unsupportedKeyword(key, pointer: ptr + " (number bounds must be whole numbers within ±1e15)")
            }
        }
        let lo = b.low.map { Int64($0) }
        let hi = b.high.map { Int64($0) }
        if let lo, let hi, lo > hi || (lo == hi && (b.lowExclusive || b.highExclusive)) {
            throw GrammarError.badSchema("no number between minimum and maximum", pointer: ptr)
        }
        var alts: [String] = []
        // Non-negative values.
        if hi.map({ $0 > 0 || ($0 == 0 && !b.highExclusive) }) ?? true {
            let low = lo.map { $0 < 0 ? (0, false) : ($0, b.lowExclusive) } ?? (0, false)
            alts += Self.plainDecimals(low: low.0, lowExclusive: low.1, high: hi, highExclusive: b.highExclusive)
        }
        // Negative values: a minus sign and a magnitude m with -hi <= m <= -lo.
        if lo.map({ $0 < 0 }) ?? true {
            let mLow: (Int64, Bool) = hi.map { $0 < 0 ? (-$0, b.highExclusive) : (0, $0 == 0 && b.highExclusive) } ?? (0, false)
            let mHigh = lo.map { -$0 }
            alts += Self.plainDecimals(low: mLow.0, lowExclusive: mLow.1, high: mHigh, highExclusive: b.lowExclusive).map { "\"-\" (" + $0 + ")" }
        }
        if alts.isEmpty { throw GrammarError.badSchema("no number between minimum and maximum", pointer: ptr) }
        return rule("num", alts.map { "(" + $0 + ")" }.joined(separator: " | "))
    }

    /// Unsigned decimals (no exponent) between whole-number bounds: the whole part decides,
    /// the fraction matters only at the ends.
    static func plainDecimals(low lo: Int64, lowExclusive: Bool, high hi: Int64?, highExclusive: Bool) -> [String] {
        let frac = "(\".\" [0-9]+)?"
        let nonzeroFrac = "\".\" [0-9]* [1-9] [0-9]*"
        let zeroFrac = "(\".\" \"0\"+)?"
        var alts: [String] = []
        let wholeLow = lowExclusive ? lo + 1 : lo
        let wholeHigh = hi.map { $0 - 1 }
        if wholeHigh.map({ wholeLow <= $0 }) ?? true {
            alts.append(IntegerRange.gbnf(low: wholeLow, high: wholeHigh) + " " + frac)
        }
        if lowExclusive, hi.map({ lo < $0 }) ?? true {
            alts.append(IntegerRange.gbnf(low: lo, high: lo) + " " + nonzeroFrac)
        }
        if let hi, !highExclusive, hi >= lo, !(lowExclusive && hi == lo) {
            alts.append(IntegerRange.gbnf(low: hi, high: hi) + " " + zeroFrac)
        }
        return alts
    }

    // MARK: - Objects and arrays

    private mutating func object(_ schema: JSONValue, _ ptr: String) throws(GrammarError) -> String {
        var props: [(String, JSONValue, String)] = []
        if let p = schema["properties"] {
            guard let fields = p.fields else { throw GrammarError.badSchema("'properties' must be an object", pointer: ptr + "/properties") }
            for (k, v) in fields { props.append((k, v, ptr + "/properties/" + Self.escapePointer(k))) }
        }
        // A property whose schema admits nothing must be absent.
        let forbidden = props.filter { Self.isNever($0.1) }.map(\.0)
        props.removeAll { Self.isNever($0.1) }
        var required = Set<String>()
        if let r = schema["required"] {
            guard let list = r.array, list.allSatisfy({ $0.string != nil }) else {
                throw GrammarError.badSchema("'required' must be a list of strings", pointer: ptr + "/required")
            }
            required = Set(list.compactMap(\.string))
            if let name = required.first(where: { forbidden.contains($0) }) {
                throw GrammarError.badSchema("property '\(name)' is required but its schema admits no value", pointer: ptr + "/required")
            }
            for name in list.compactMap(\.string) where !props.contains(where: { $0.0 == name }) {
                props.append((name, .bool(true), ptr + "/required"))
            }
        }
        var extra: String? = "jvalue"
        if let ap = schema["additionalProperties"] {
            if case .bool(let b) = ap { extra = b ? "jvalue" : nil } else { extra = try compile(ap, ptr + "/additionalProperties") }
        }
        var kvs: [String] = []
        for (name, s, p) in props {
            let value = try compile(s, p)
            kvs.append(Self.literal(JSONValue.string(name).canonicalText) + " ws \":\" ws " + value + " ws")
        }
        let minProperties = try count(schema, "minProperties", ptr)
        let maxProperties = try count(schema, "maxProperties", ptr)
        if minProperties != nil || maxProperties != nil {
            guard props.isEmpty, let extra else {
                throw GrammarError.unsupportedKeyword(minProperties != nil ? "minProperties" : "maxProperties", pointer: ptr + " (only on objects without declared properties)")
            }
            let lo = minProperties ?? 0
            if let hi = maxProperties, hi < lo { throw GrammarError.badSchema("minProperties \(lo) > maxProperties \(hi)", pointer: ptr) }
            if lo > 1000 || (maxProperties ?? 0) > 1000 { throw GrammarError.unsupportedKeyword("maxProperties", pointer: ptr + " (above 1000)") }
            let key = forbidden.isEmpty ? "jstring" : rule("key", Self.notStrings(forbidden))
            let kv = rule("member", key + " ws \":\" ws " + extra + " ws")
            if maxProperties == 0 { return rule("object", "\"{\" ws \"}\"") }
            let more = "( \",\" ws " + kv + " )"
            let body = lo == 0
                ? "( " + kv + " " + more + (maxProperties.map { "{0,\($0 - 1)}" } ?? "*") + " )?"
                : kv + " " + more + (maxProperties.map { "{\(lo - 1),\($0 - 1)}" } ?? "{\(lo - 1),}")
            return rule("object", "\"{\" ws " + body + " \"}\"")
        }
        var extraKV: String? = nil
        if let extra {
            let excluded = props.map { $0.0 } + forbidden
            let key = excluded.isEmpty ? "jstring" : rule("key", Self.notStrings(excluded))
            extraKV = rule("extra", key + " ws \":\" ws " + extra + " ws")
        }
        // S[i]: the rest from property i when something came before (each item after a comma);
        // F[i]: the rest from property i when nothing came yet.
        let n = props.count
        var later = extraKV.map { "( \",\" ws " + $0 + " )*" } ?? ""
        var first = extraKV.map { "( " + $0 + " ( \",\" ws " + $0 + " )* )?" } ?? ""
        for i in stride(from: n - 1, through: 0, by: -1) {
            let isRequired = required.contains(props[i].0)
            let s = later.isEmpty ? "" : " " + later
            let withThis = kvs[i] + s
            let laterBody = isRequired ? "\",\" ws " + withThis : "( \",\" ws " + kvs[i] + " )?" + s
            let firstBody = isRequired ? withThis : withThis + " | " + (first.isEmpty ? "\"\"" : first)
            later = rule("rest", laterBody.isEmpty ? "\"\"" : laterBody)
            first = rule("first", firstBody)
        }
        return rule("object", "\"{\" ws " + (first.isEmpty ? "" : first + " ") + "\"}\"")
    }

    /// A JSON string that is none of `words` (keys are written without \u escapes, so a
    /// declared key cannot come back disguised).
    static func notStrings(_ words: [String]) -> String {
        final class Node { var children: [(UnicodeScalar, Node)] = []; var end = false }
        let trie = Node()
        for w in Set(words) {
            var node = trie
            for c in w.unicodeScalars {
                if let next = node.children.first(where: { $0.0 == c })?.1 { node = next } else {
                    let next = Node()
                    node.children.append((c, next))
                    node = next
                }
            }
            node.end = true
        }
        func char(_ c: UnicodeScalar) -> String {
            switch c {
            case "\"": return "\"\\\\\\\"\""
            case "\\": return "\"\\\\\\\\\""
            default: return literal(String(c))
            }
        }
        func body(_ node: Node) -> String {
            var alts: [String] = []
            // Any character that leaves the trie, then anything.
            let excluded = node.children.map(\.0).filter { $0 != "\"" && $0 != "\\" && $0.value >= 0x20 }
            var cls = "[^\"\\\\\\x00-\\x1F"
            for c in excluded { cls += classChar(c) }
            cls += "]"
            alts.append(cls + " jkeychar*")
            if !node.children.contains(where: { $0.0 == "\"" || $0.0 == "\\" }) {
                alts.append("\"\\\\\" [\"\\\\/bfnrt] jkeychar*")
            } else {
                alts.append("\"\\\\\" [/bfnrt] jkeychar*")
            }
            for (c, child) in node.children { alts.append(char(c) + " (" + body(child) + ")") }
            if !node.end { alts.append("\"\"") }
            return alts.joined(separator: " | ")
        }
        return "\"\\\"\" (" + body(trie) + ") \"\\\"\""
    }

    static func classChar(_ c: UnicodeScalar) -> String {
        switch c {
        case "]", "[", "-", "\\", "^", "\"": return "\\" + String(c)
        default: return c.value < 0x20 ? "\\x" + String(c.value, radix: 16).leftPad(2) : String(c)
        }
    }

    private mutating func array(_ schema: JSONValue, _ ptr: String) throws(GrammarError) -> String {
        let minItems = try count(schema, "minItems", ptr) ?? 0
        let maxItems = try count(schema, "maxItems", ptr)
        if let maxItems, maxItems < minItems { throw GrammarError.badSchema("minItems \(minItems) > maxItems \(maxItems)", pointer: ptr) }
        var prefix: [String] = []
        var rest: String? = "jvalue"
        if let p = schema["prefixItems"] {
            guard let list = p.array else { throw GrammarError.badSchema("'prefixItems' must be a list", pointer: ptr + "/prefixItems") }
            for (i, s) in list.enumerated() { prefix.append(try compile(s, ptr + "/prefixItems/\(i)")) }
            if let items = schema["items"] {
                if case .bool(false) = items { rest = nil } else { rest = try compile(items, ptr + "/items") }
            }
        } else if let items = schema["items"] {
            if let list = items.array {
                for (i, s) in list.enumerated() { prefix.append(try compile(s, ptr + "/items/\(i)")) }
                if let add = schema["additionalItems"] {
                    if case .bool(false) = add { rest = nil } else { rest = try compile(add, ptr + "/additionalItems") }
                }
            } else if case .bool(false) = items {
                rest = nil
            } else {
                rest = try compile(items, ptr + "/items")
            }
        }
        let k = prefix.count
        if rest == nil, minItems > k { throw GrammarError.badSchema("minItems \(minItems) but at most \(k) items are allowed", pointer: ptr) }
        if let maxItems, maxItems > 1000 { throw GrammarError.unsupportedKeyword("maxItems", pointer: ptr + " (above 1000)") }
        if minItems > 1000 { throw GrammarError.unsupportedKeyword("minItems", pointer: ptr + " (above 1000)") }
        // Items after the prefix.
        let restMin = max(0, minItems - k)
        let restMax: Int? = rest == nil ? 0 : maxItems.map { max(0, $0 - k) }
        var tail = ""  // what follows the last prefix item (each rest item after a comma)
        if let rest, restMax != 0 {
            let elem = rest + " ws"
            tail = "( \",\" ws " + elem + " )" + (restMax.map { "{\(restMin),\($0)}" } ?? "{\(restMin),}")
        }
        if k == 0 {
            guard let rest, restMax != 0 else { return rule("array", "\"[\" ws \"]\"") }
            let elem = rest + " ws"
            let more = "( \",\" ws " + elem + " )"
            let body: String
            if minItems == 0 {
                body = "( " + elem + " " + more + (maxItems.map { "{0,\($0 - 1)}" } ?? "*") + " )?"
            } else {
                body = elem + " " + more + (maxItems.map { "{\(minItems - 1),\($0 - 1)}" } ?? "{\(minItems - 1),}")
            }
            return rule("array", "\"[\" ws " + body + " \"]\"")
        }
        if let maxItems, maxItems < k {
            // Only the first maxItems prefix items can appear.
            prefix.removeSubrange(maxItems...)
            tail = ""
        }
        var after = tail
        for i in stride(from: prefix.count - 1, through: 1, by: -1) {
            let item = "\",\" ws " + prefix[i] + " ws" + (after.isEmpty ? "" : " " + after)
            after = i >= minItems ? "( " + item + " )?" : item
        }
        let all = prefix.isEmpty ? "" : prefix[0] + " ws" + (after.isEmpty ? "" : " " + after)
        let body = minItems == 0 ? "( " + all + " )?" : all
        return rule("tuple", "\"[\" ws " + body + " \"]\"")
    }
}

extension String {
    func leftPad(_ n: Int) -> String { String(repeating: "0", count: Swift.max(0, n - count)) + self }
}
