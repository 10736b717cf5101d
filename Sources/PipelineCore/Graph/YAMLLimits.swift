import Foundation
import Yams

/// Bounds on what a pipeline file may ask the loader to hold, checked before anything walks
/// the YAML tree: a file is untrusted input, and YAML aliases let a few hundred bytes name
/// billions of nodes (the "billion laughs" pattern: nine anchors, each a list of nine aliases
/// of the one before, expand to 9⁹ scalars).
///
/// libyaml already caps nesting at 1,000 levels, and Yams shares an aliased node rather than
/// copying it, so composing such a file is cheap; it is every later walk (parameters, options,
/// values) that would expand it, and recurse as deep as a chain of aliases nests.
/// `checkExpansion(_:file:)` walks the tree once with a node budget and a depth limit and stops
/// at the first node past either, so the cost is bounded whatever the file says.
public enum YAMLLimits {
    /// The largest pipeline file read, in bytes of UTF-8 (real pipeline files are a few kB).
    public static let maxDocumentBytes = 4 << 20
    /// The most YAML nodes the tree may hold with every alias expanded in place.
    public static let maxExpandedNodes = 1_000_000
    /// The deepest nesting of the tree with aliases expanded (a chain of anchors, each a list
    /// holding an alias of the one before, nests as deep as it is long; every walk of the tree
    /// recurses, so depth is bounded like size).
    public static let maxDepth = 256

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
        guard !walk.visit(root, inPlace: true, depth: 1) else { return nil }
        if walk.tooDeep {
            return Diagnostic(
                YAMLValue.location(walk.blame, file: file),
                "the YAML here nests more than \(maxDepth) levels deep (aliases expanded)",
                hint: "an alias (*name) puts its anchor's whole value in its place; a chain of them nests as deep as it is long")
        }
        return Diagnostic(
            YAMLValue.location(walk.blame, file: file),
            "YAML aliases here expand the file past \(budget) nodes",
            hint: "an alias (*name) repeats its anchor's whole value; aliases of aliases multiply (\"billion laughs\")")
    }

    /// Trees refused for their depth, kept alive for the rest of the process.
    nonisolated(unsafe) private static var refused: [Yams.Node] = []
    private static let refusedLock = NSLock()

    /// Keeps a tree that nests too deep (`checkExpansion` refused it) from being freed: Yams
    /// nodes are values holding arrays of nodes, and freeing a 100,000-link chain of aliases
    /// releases it link by link on the stack, which overflows. Such a tree comes only from a
    /// hostile file (at most 4 MiB of text), so holding it costs a few MB per refused file.
    static func keepAlive(_ root: Yams.Node) {
        refusedLock.lock()
        refused.append(root)
        refusedLock.unlock()
    }

    /// A preorder walk that counts nodes, aliases expanded. Nodes written in place come in
    /// strictly increasing source order; a node whose mark is not past the furthest seen was
    /// reached through an alias (its mark is its anchor's), and so is everything under it.
    private struct ExpansionWalk {
        var budget: Int
        var furthest: (line: Int, column: Int) = (0, 0)
        /// The innermost in-place node on the path when the budget ran out.
        var blame: Yams.Node?
        /// Whether the walk stopped at `maxDepth` rather than at the node budget.
        var tooDeep = false

        init(budget: Int) { self.budget = budget }

        /// False once the budget is spent or the depth exceeded (`blame` then says where).
        mutating func visit(_ node: Yams.Node, inPlace parentInPlace: Bool, depth: Int) -> Bool {
            var inPlace = parentInPlace
            if inPlace, let mark = node.mark {
                if (mark.line, mark.column) > furthest {
                    furthest = (mark.line, mark.column)
                } else {
                    inPlace = false
                }
            }
            budget -= 1
            if budget < 0 || depth > YAMLLimits.maxDepth {
                tooDeep = budget >= 0
                if blame == nil, inPlace { blame = node }
                return false
            }
            var ok = true
            switch node {
            case .scalar, .alias:
                break
            case .sequence(let sequence):
                for child in sequence where ok { ok = visit(child, inPlace: inPlace, depth: depth + 1) }
            case .mapping(let mapping):
                for (key, value) in mapping where ok {
                    ok = visit(key, inPlace: inPlace, depth: depth + 1) && visit(value, inPlace: inPlace, depth: depth + 1)
                }
            }
            if !ok, blame == nil, inPlace { blame = node }
            return ok
        }
    }
}
