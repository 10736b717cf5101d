import Yams

/// Bounds on what a pipeline file may ask the loader to hold, checked before anything walks
/// the YAML tree: a file is untrusted input, and YAML aliases let a few hundred bytes name
/// billions of nodes (the "billion laughs" pattern: nine anchors, each a list of nine aliases
/// of the one before, expand to 9⁹ scalars).
///
/// libyaml already caps nesting at 1,000 levels, and Yams shares an aliased node rather than
/// copying it, so composing such a file is cheap; it is every later walk (parameters, options,
/// values) that would expand it. `check(_:file:)` walks the tree once with a node budget and
/// stops at the first node past it, so the cost is bounded whatever the file says.
public enum YAMLLimits {
    /// The largest pipeline file read, in bytes of UTF-8 (real pipeline files are a few kB).
    public static let maxDocumentBytes = 4 << 20
    /// The most YAML nodes the tree may hold with every alias expanded in place.
    public static let maxExpandedNodes = 1_000_000

    /// The error for a file of `bytes` bytes, more than `maxDocumentBytes`.
    static func sizeDiagnostic(bytes: Int, file: String) -> Diagnostic {
        Diagnostic(
            SourceLocation(file: file, line: 1, column: 1),
            "the pipeline file is \(bytes) bytes; at most \(maxDocumentBytes) are read",
            hint: "a pipeline file declares a graph; put large data in files its nodes read")
    }

    /// A located diagnostic when `root`, with its aliases expanded, holds more than `budget`
    /// nodes, else nil. The location is the innermost node written in place (not reached
    /// through an alias) when the budget ran out: the mapping or list whose aliases expand.
    static func checkExpansion(_ root: Yams.Node, file: String, budget: Int = maxExpandedNodes) -> Diagnostic? {
        var walk = ExpansionWalk(budget: budget)
        guard !walk.visit(root, inPlace: true) else { return nil }
        return Diagnostic(
            YAMLValue.location(walk.blame, file: file),
            "YAML aliases here expand the file past \(budget) nodes",
            hint: "an alias (*name) repeats its anchor's whole value; aliases of aliases multiply (\"billion laughs\")")
    }

    /// A preorder walk that counts nodes, aliases expanded. Nodes written in place come in
    /// strictly increasing source order; a node whose mark is not past the furthest seen was
    /// reached through an alias (its mark is its anchor's), and so is everything under it.
    private struct ExpansionWalk {
        var budget: Int
        var furthest: (line: Int, column: Int) = (0, 0)
        /// The innermost in-place node on the path when the budget ran out.
        var blame: Yams.Node?

        init(budget: Int) { self.budget = budget }

        /// False once the budget is spent (`blame` then says where).
        mutating func visit(_ node: Yams.Node, inPlace parentInPlace: Bool) -> Bool {
            var inPlace = parentInPlace
            if inPlace, let mark = node.mark {
                if (mark.line, mark.column) > furthest {
                    furthest = (mark.line, mark.column)
                } else {
                    inPlace = false
                }
            }
            budget -= 1
            if budget < 0 {
                if blame == nil, inPlace { blame = node }
                return false
            }
            var ok = true
            switch node {
            case .scalar, .alias:
                break
            case .sequence(let sequence):
                for child in sequence where ok { ok = visit(child, inPlace: inPlace) }
            case .mapping(let mapping):
                for (key, value) in mapping where ok { ok = visit(key, inPlace: inPlace) && visit(value, inPlace: inPlace) }
            }
            if !ok, blame == nil, inPlace { blame = node }
            return ok
        }
    }
}
