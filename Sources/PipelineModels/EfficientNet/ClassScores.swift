import Foundation

/// One class of a classifier's answer: its index, softmax probability and logit.
public struct ClassScore: Sendable, Equatable {
    public var index: Int
    public var probability: Double
    public var logit: Float

    /// The `k` most probable classes of one image's logits, best first (softmax in Double;
    /// ties go to the lower index).
    public static func top(_ logits: ArraySlice<Float>, k: Int) -> [ClassScore] {
        guard let maxLogit = logits.max() else { return [] }
        let exps = logits.map { exp(Double($0) - Double(maxLogit)) }
        let sum = exps.reduce(0, +)
        let base = logits.startIndex
        let order = logits.indices.sorted { a, b in
            logits[a] != logits[b] ? logits[a] > logits[b] : a < b
        }
        return order.prefix(max(0, k)).map { i in
            ClassScore(index: i - base, probability: exps[i - base] / sum, logit: logits[i])
        }
    }
}

/// Class names, one per line of a text file (`imagenet-classes.txt`: the 1000 ImageNet names).
public struct ClassNames: Sendable, Equatable {
    public let names: [String]

    /// Reads `path`, requiring exactly `count` non-empty lines.
    public init(path: String, count: Int) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw EfficientNetError.badClassNames(path: path, reason: "cannot read")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        guard lines.count == count else {
            throw EfficientNetError.badClassNames(path: path, reason: "\(lines.count) names, \(count) expected")
        }
        if let blank = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            throw EfficientNetError.badClassNames(path: path, reason: "line \(blank + 1) is empty")
        }
        names = lines
    }

    /// The name of class `index`, or `class N` outside the list.
    public subscript(index: Int) -> String { names.indices.contains(index) ? names[index] : "class \(index)" }
}
