import Foundation

/// One choice's likelihood after a prompt: the natural-log probability of each of its tokens
/// given the prompt and the choice's tokens before it, and their sum.
public struct ChoiceScore: Sendable, Equatable {
    public let tokens: [Int]
    public let tokenLogprobs: [Double]
    public var logprob: Double { tokenLogprobs.reduce(0, +) }
}

/// Why a list of choices could not be scored.
public enum ScoringError: Error, Sendable, Equatable, CustomStringConvertible {
    case noChoices
    case emptyChoice(index: Int)
    case contextOverflow(tokens: Int, contextLength: Int)

    public var description: String {
        switch self {
        case .noChoices: return "there are no choices to score"
        case .emptyChoice(let i): return "choice \(i) has no tokens"
        case let .contextOverflow(n, ctx): return "the prompt and its longest choice have \(n) tokens but the context holds \(ctx)"
        }
    }
}

extension LoadedModel {
    /// Scores every choice as a continuation of `prompt` (token ids; a choice's ids follow the
    /// prompt's as given, so tokenize choices without a BOS). The prompt is evaluated once
    /// (from a kept prefix where `reuse` finds one) and snapshotted; each choice then starts
    /// from that snapshot. `batched` feeds a choice's tokens (all but the last, whose
    /// successor is not needed) as one chunk with logits at every position; otherwise one
    /// token at a time. Both give the same values, bit for bit.
    public func score(prompt: [Int], choices: [[Int]], reuse: PrefixReuse = .automatic,
                      batched: Bool = true) throws -> [ChoiceScore] {
        guard !choices.isEmpty else { throw ScoringError.noChoices }
        if let empty = choices.firstIndex(where: \.isEmpty) { throw ScoringError.emptyChoice(index: empty) }
        let vocab = model.vocabSize
        for (i, choice) in choices.enumerated() {
            if let bad = choice.first(where: { !(0..<vocab).contains($0) }) {
                throw ModelError.badValue(key: "choice \(i)", why: "token id \(bad) is outside the vocabulary (0..<\(vocab))")
            }
        }
        let longest = prompt.count + choices.map(\.count).max()!
        guard longest <= model.contextLength else { throw ScoringError.contextOverflow(tokens: longest, contextLength: model.contextLength) }
        let start = try prefill(prompt, reuse: reuse)
        let session = start.session
        let afterPrompt = session.snapshot()
        var scores: [ChoiceScore] = []
        for (i, choice) in choices.enumerated() {
            if i > 0 { try session.restore(afterPrompt) }
            let fed = Array(choice.dropLast())
            let rows = batched ? try session.prefillAll(fed) : try fed.map(session.step)
            var logprobs = [Self.logSoftmax(start.logits, at: choice[0])]
            for (j, row) in rows.enumerated() { logprobs.append(Self.logSoftmax(row, at: choice[j + 1])) }
            scores.append(ChoiceScore(tokens: choice, tokenLogprobs: logprobs))
        }
        return scores
    }

    /// log softmax(logits)[index], in double precision.
    static func logSoftmax(_ logits: [Float], at index: Int) -> Double {
        let top = Double(logits.max() ?? 0)
        var sum = 0.0
        for x in logits { sum += exp(Double(x) - top) }
        return Double(logits[index]) - top - log(sum)
    }
}
