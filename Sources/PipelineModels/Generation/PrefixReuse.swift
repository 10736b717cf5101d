/// How a prompt uses its model's `PrefixCache`.
public enum PrefixReuse: Sendable, Equatable {
    /// Evaluate every token; keep nothing.
    case off
    /// Start from the longest kept prefix, and keep the longest run of tokens this prompt shares
    /// with one of the last few prompts (the instructions every item repeats), found by itself.
    case automatic
    /// Start from the longest kept prefix, and keep the prompt's first `n` tokens.
    case prefix(Int)
}

/// A session positioned after a prompt, with the logits for the token that follows it.
public struct PrefilledSession {
    public let session: any LanguageModelSession
    public let logits: [Float]
    /// Prompt tokens restored from a kept prefix rather than evaluated.
    public let reusedTokens: Int
}

extension LoadedModel {
    /// A kept prefix must save at least this many tokens over the one it starts from: shorter
    /// gains (two texts that both begin with "The") are not worth a snapshot.
    public static let minimumPrefixGain = 16

    /// A new session fed `tokens`, starting from the longest prefix of them kept in `prefixes`
    /// and keeping a new one as `reuse` says. Logits and cache are bit-identical to feeding all
    /// the tokens to a fresh session (prefill is chunk-invariant and restoring copies the cache).
    public func prefill(_ tokens: [Int], reuse: PrefixReuse) throws -> PrefilledSession {
        guard !tokens.isEmpty else { throw GenerationError.emptyPrompt }
        let session = model.makeSession()
        if reuse == .off { return PrefilledSession(session: session, logits: try session.prefill(tokens), reusedTokens: 0) }
        var done = 0
        var logits: [Float] = []
        if let kept = prefixes.longest(prefixOf: tokens) {
            try session.restore(kept.snapshot)
            done = kept.tokens.count
            logits = kept.logits
        }
        let reused = done
        let boundary: Int
        switch reuse {
        case .off: boundary = 0
        case .automatic: boundary = prefixes.sharedPrefixWithRecent(tokens)
        case .prefix(let n): boundary = min(max(0, n), tokens.count)
        }
        if boundary >= done + Self.minimumPrefixGain {
            logits = try session.prefill(Array(tokens[done..<boundary]))
            prefixes.insert(PrefixCache.Entry(tokens: Array(tokens[..<boundary]), snapshot: session.snapshot(), logits: logits))
            done = boundary
        }
        if done < tokens.count { logits = try session.prefill(Array(tokens[done...])) }
        return PrefilledSession(session: session, logits: logits, reusedTokens: reused)
    }
}
