import Foundation
import Yams

// Phase 2, parameters: the version, `params` (with --set overrides), `settings`, and values
// with `${param}` substituted.
extension LoadPass {
    mutating func checkVersion(_ entry: (key: Yams.Node, value: Yams.Node)?, root: Yams.Node) {
        guard let entry else {
            error(root, "missing 'version'", hint: "add `version: \(PipelineLoader.supportedVersion)` at the top")
            return
        }
        let value = entry.value.scalar.map(YAMLValue.scalar)
        guard value?.intValue == PipelineLoader.supportedVersion, case .int = value else {
            // Say what was found: `"1"` (a quoted string) must not read like the supported `1`.
            let shown: String
            switch value {
            case .null: shown = ": no value"
            case .string(let s): shown = " \"\(s)\" (a string)"
            case .some: shown = " " + (entry.value.scalar?.string ?? "")
            case .none: shown = ": a \(entry.value.mapping != nil ? "mapping" : "list")"
            }
            error(entry.value, "unsupported version\(shown)", hint: "this engine reads `version: \(PipelineLoader.supportedVersion)`")
            return
        }
    }

    mutating func readParams(_ node: Yams.Node?, overrides: [(String, String)]) {
        if let node {
            if let mapping = node.mapping {
                for (key, value) in mapping {
                    guard let name = key.scalar?.string, Self.isIdentifier(name) else {
                        error(key, "parameter names must be identifiers (letters, digits, _ and -)")
                        continue
                    }
                    params[name] = (convert(value, substitute: false), YAMLValue.location(value, file: file))
                }
            } else {
                error(node, "'params' must be a mapping of name: default", hint: "e.g. `params: { photo: samples/a.jpg }`")
            }
        }
        for (index, (name, text)) in overrides.enumerated() {
            let location = SourceLocation(file: "<command line>", line: 1, column: index + 1)
            guard params[name] != nil else {
                diagnostics.append(Diagnostic(location, "--set \(name)=\(text): the pipeline has no parameter '\(name)'",
                    hint: Suggestions.hint(for: name, in: Array(params.keys), noun: "parameter")))
                continue
            }
            let value: Value
            if let scalar = (try? Yams.compose(yaml: text))??.scalar {
                value = YAMLValue.scalar(scalar)
            } else {
                value = .string(text)
            }
            params[name] = (value, location)
        }
    }

    mutating func readSettings(_ node: Yams.Node?) -> RunSettings {
        var settings = RunSettings()
        guard let node else { return settings }
        guard let mapping = node.mapping else {
            error(node, "'settings' must be a mapping")
            return settings
        }
        let known = ["watchdog_seconds", "watchdog_action"]
        for (key, value) in mapping {
            let name = key.scalar?.string ?? ""
            switch name {
            case "watchdog_seconds":
                if let d = convert(value).doubleValue, d >= 0 {
                    settings.watchdogSeconds = d
                } else {
                    error(value, "'watchdog_seconds' must be a number of seconds >= 0 (0 disables the watchdog)")
                }
            case "watchdog_action":
                if let s = convert(value).stringValue, let action = WatchdogAction(rawValue: s) {
                    settings.watchdogAction = action
                } else {
                    error(value, "'watchdog_action' must be one of 'warn', 'fail'")
                }
            default:
                error(key, "unknown setting '\(name)'", hint: Suggestions.hint(for: name, in: known, noun: "setting"))
            }
        }
        return settings
    }

    static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, first == "_" || CharacterSet.letters.contains(first) else { return false }
        return s.unicodeScalars.allSatisfy { $0 == "_" || $0 == "-" || CharacterSet.alphanumerics.contains($0) && $0.isASCII }
    }


    /// Converts a YAML node to a value, substituting `${param}` in strings.
    mutating func convert(_ node: Yams.Node, substitute: Bool = true) -> Value {
        switch node {
        case .scalar(let scalar):
            let value = YAMLValue.scalar(scalar)
            guard substitute, case .string(let s) = value, s.contains("${") else { return value }
            return interpolate(s, node: node)
        case .sequence(let seq):
            return .array(seq.map { convert($0, substitute: substitute) })
        case .mapping(let map):
            var object: [String: Value] = [:]
            for (k, v) in map { object[k.scalar?.string ?? "\(k)"] = convert(v, substitute: substitute) }
            return .object(object)
        case .alias:
            error(node, "YAML aliases are not supported here", hint: "repeat the value, or use a parameter")
            return .null
        }
    }

    /// `${name}` alone keeps the parameter's type; inside text it is spliced as a string.
    mutating func interpolate(_ s: String, node: Yams.Node) -> Value {
        var result = ""
        var rest = Substring(s)
        var whole: Value?
        while let open = rest.range(of: "${") {
            result += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else {
                error(node, "unterminated '${' in '\(s)'", hint: "write ${name}")
                return .string(s)
            }
            let name = String(rest[open.upperBound..<close])
            guard let param = params[name] else {
                error(node, "unknown parameter '\(name)'",
                    hint: params.isEmpty ? "declare it under `params:`" : Suggestions.hint(for: name, in: Array(params.keys), noun: "parameter"))
                return .string(s)
            }
            if open.lowerBound == s.startIndex, close == s.index(before: s.endIndex) {
                whole = param.value
            }
            switch param.value {
            case .string(let text): result += text
            case let other: result += other.jsonString()
            }
            rest = rest[rest.index(after: close)...]
        }
        result += rest
        return whole ?? .string(result)
    }
}
