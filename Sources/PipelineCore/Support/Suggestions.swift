/// "Did you mean" support: nearest names by edit distance.
public enum Suggestions {
    /// Levenshtein distance between two strings, by Unicode scalars.
    public static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars), b = Array(b.unicodeScalars)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    /// Up to `limit` candidates close to `name`: by edit distance (at most a third of the
    /// length, at least 2) or sharing a dotted component, closest first.
    public static func nearest(_ name: String, in candidates: some Sequence<String>, limit: Int = 3) -> [String] {
        let lowered = name.lowercased()
        let budget = max(2, lowered.count / 3)
        var scored: [(Int, String)] = []
        for candidate in candidates {
            let d = distance(lowered, candidate.lowercased())
            let sharesPart = candidate.split(separator: ".").contains { lowered.split(separator: ".").contains($0) }
                || (lowered.count >= 3 && candidate.lowercased().contains(lowered))
            if d <= budget {
                scored.append((d, candidate))
            } else if sharesPart {
                scored.append((budget + d, candidate))
            }
        }
        return scored.sorted { $0 < $1 }.prefix(limit).map(\.1)
    }

    /// A hint sentence: "did you mean 'x'?" or a list of valid names.
    public static func hint(for name: String, in candidates: [String], noun: String) -> String {
        let near = nearest(name, in: candidates)
        if !near.isEmpty {
            return "did you mean " + near.map { "'\($0)'" }.joined(separator: " or ") + "?"
        }
        if candidates.isEmpty { return "this node has no \(noun)s" }
        let shown = candidates.sorted().prefix(12).joined(separator: ", ")
        return "valid \(noun)s: \(shown)\(candidates.count > 12 ? ", ..." : "")"
    }
}
