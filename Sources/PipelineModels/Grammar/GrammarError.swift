/// Why a grammar or schema could not be compiled. Cases carry where the problem is: a line and
/// column in the grammar text, or a JSON pointer into the schema.
public enum GrammarError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A GBNF syntax error at `line`:`column` (1-based, columns in characters).
    case syntax(String, line: Int, column: Int)
    /// A rule is used but never defined.
    case undefinedRule(String, line: Int, column: Int)
    /// The grammar has no `root` rule.
    case noRoot
    /// A rule can start with itself (llama.cpp refuses these too).
    case leftRecursion(rule: String)
    /// A grammar feature this engine does not run (token references).
    case unsupported(String)
    /// A schema keyword that is not supported, at a JSON pointer.
    case unsupportedKeyword(String, pointer: String)
    /// A schema that is malformed or unsatisfiable, at a JSON pointer.
    case badSchema(String, pointer: String)
    /// A choice list that cannot be used.
    case badChoices(String)

    public var description: String {
        switch self {
        case let .syntax(why, line, column): return "grammar \(line):\(column): \(why)"
        case let .undefinedRule(name, line, column): return "grammar \(line):\(column): undefined rule '\(name)'"
        case .noRoot: return "grammar: no 'root' rule (the grammar starts at root)"
        case .leftRecursion(let rule): return "grammar: rule '\(rule)' is left-recursive (it can start with itself)"
        case .unsupported(let why): return "grammar: \(why)"
        case let .unsupportedKeyword(keyword, pointer):
            return "schema \(pointer.isEmpty ? "(root)" : pointer): unsupported keyword '\(keyword)'"
        case let .badSchema(why, pointer): return "schema \(pointer.isEmpty ? "(root)" : pointer): \(why)"
        case .badChoices(let why): return "choices: \(why)"
        }
    }

    /// The JSON pointer a schema error is about, if it is one.
    public var pointer: String? {
        switch self {
        case .unsupportedKeyword(_, let p), .badSchema(_, let p): return p
        default: return nil
        }
    }
}
