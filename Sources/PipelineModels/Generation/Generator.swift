import Foundation

/// What one generation asks for.
public struct GenerationRequest: Sendable {
    public var prompt: [Int]
    public var maxTokens: Int
    public var sampling: SamplingOptions
    /// Text that ends the completion (not included in it).
    public var stop: [String]
    /// Input vectors (`width` floats each) fed before the prompt's tokens, in place of token
    /// embeddings: how features of other modalities (a fusion node's output) prefix a prompt.
    public var prefix: [[Float]] = []
    /// How many of the prompt's tokens come before the prefix vectors (0: the prefix comes
    /// first): a chat prompt puts them where the user turn's content begins.
    public var prefixAt = 0
    /// Generate past end-of-text tokens (benchmarks that need a fixed count).
    public var ignoreEndOfText = false
    /// Whether the prompt starts from (and adds to) the model's kept prefixes (not with `prefix` vectors).
    public var reuse = PrefixReuse.off
    /// Holds the output to a grammar (GBNF, a JSON Schema or choices): each step masks the
    /// logits to the tokens that keep the text a prefix of the language.
    public var constraint: GrammarConstraint? = nil

    public init(prompt: [Int], maxTokens: Int = 256, sampling: SamplingOptions = .init(), stop: [String] = []) {
        self.prompt = prompt
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stop = stop
    }
}

/// Why a generation ended.
public enum FinishReason: String, Sendable, Codable {
    case endOfText = "eos", maxTokens = "max_tokens", stopString = "stop", contextFull = "context"
    /// A constrained generation ran out of tokens (max_tokens or the context) before its
    /// value was complete: the text is not a sentence of the grammar.
    case length = "length"
}

/// The whole completion and how long it took.
public struct GenerationResult: Sendable {
    public var text: String
    public var tokens: [Int]
    public var promptTokens: Int
    public var finishReason: FinishReason
    public var prefillSeconds: Double
    public var decodeSeconds: Double

    public var prefillTokensPerSecond: Double { prefillSeconds > 0 ? Double(promptTokens) / prefillSeconds : 0 }
    /// Tokens after the first, over the time spent producing them.
    public var decodeTokensPerSecond: Double { decodeSeconds > 0 ? Double(max(0, tokens.count - 1)) / decodeSeconds : 0 }
}

extension LoadedModel {
    /// Runs prefill then decoding, calling `onText` with each newly completed piece of text
    /// as tokens come (held back while it could still be the start of a stop string).
    public func generate(_ request: GenerationRequest, onText: (String) -> Void = { _ in }) throws -> GenerationResult {
        if let problem = request.sampling.problem { throw GenerationError.badOptions(problem) }
        guard !request.prompt.isEmpty else { throw GenerationError.emptyPrompt }
        let limit = model.contextLength
        guard request.prefix.count + request.prompt.count < limit else {
            throw GenerationError.contextOverflow(promptTokens: request.prefix.count + request.prompt.count, contextLength: limit)
        }
        let clock = ContinuousClock()
        let start = clock.now
        let session: any LanguageModelSession
        var logits: [Float]
        if request.prefix.isEmpty {
            let prefilled = try prefill(request.prompt, reuse: request.reuse)
            (session, logits) = (prefilled.session, prefilled.logits)
        } else {
            guard (0..<request.prompt.count).contains(request.prefixAt) else {
                throw GenerationError.badOptions("the prefix position \(request.prefixAt) is not inside the \(request.prompt.count)-token prompt")
            }
            session = model.makeSession()
            if request.prefixAt > 0 { _ = try session.prefill(Array(request.prompt[..<request.prefixAt])) }
            for vector in request.prefix { _ = try session.step(embedding: vector) }
            logits = try session.prefill(Array(request.prompt[request.prefixAt...]))
        }
        let prefillEnd = clock.now
        var sampler = Sampler(request.sampling)
        var history = request.prompt
        var generated: [Int] = []
        var utf8 = UTF8Stream()
        var text = ""
        var emitted = 0  // characters of `text` already handed to onText
        var reason = FinishReason.maxTokens
        var firstTokenAt = prefillEnd
        var matcher = request.constraint?.makeMatcher()

        func flush(upTo end: Int) {
            guard end > emitted else { return }
            let startIndex = text.index(text.startIndex, offsetBy: emitted)
            onText(String(text[startIndex..<text.index(text.startIndex, offsetBy: end)]))
            emitted = end
        }

        while generated.count < request.maxTokens {
            if let mask = matcher?.mask() {
                if mask.allowedCount == 0 {
                    reason = .endOfText
                    break
                }
                mask.apply(to: &logits)
            }
            let token = sampler.next(logits, history: history)
            if generated.isEmpty { firstTokenAt = clock.now }
            let grammarEnd = matcher?.constraint.vocabulary.endOfGeneration.contains(token) ?? false
            if (stopTokens.contains(token) || grammarEnd) && !request.ignoreEndOfText {
                reason = .endOfText
                break
            }
            matcher?.accept(token)
            generated.append(token)
            history.append(token)
            text += utf8.push(tokenizer.bytes([token]))
            if let cut = Self.stopMatch(in: text, stops: request.stop) {
                text = String(text.prefix(cut))
                reason = .stopString
                break
            }
            flush(upTo: text.count - Self.heldBack(text, stops: request.stop))
            if generated.count == request.maxTokens { break }
            if session.position + 1 >= limit {
                reason = .contextFull
                break
            }
            logits = try session.step(token)
        }
        if reason != .stopString { text += utf8.finish() }
        if let matcher, !matcher.isComplete { reason = .length }
        flush(upTo: text.count)
        let end = clock.now
        func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
        return GenerationResult(
            text: text, tokens: generated, promptTokens: request.prefix.count + request.prompt.count, finishReason: reason,
            prefillSeconds: seconds(prefillEnd - start), decodeSeconds: seconds(end - firstTokenAt))
    }

    /// Character offset where the first stop string begins, if one occurs.
    static func stopMatch(in text: String, stops: [String]) -> Int? {
        stops.compactMap { stop -> Int? in
            guard !stop.isEmpty, let r = text.range(of: stop) else { return nil }
            return text.distance(from: text.startIndex, to: r.lowerBound)
        }.min()
    }

    /// How many trailing characters could still grow into a stop string.
    static func heldBack(_ text: String, stops: [String]) -> Int {
        var held = 0
        for stop in stops where !stop.isEmpty {
            for n in stride(from: min(stop.count - 1, text.count), to: 0, by: -1) where text.hasSuffix(stop.prefix(n)) {
                held = max(held, n)
                break
            }
        }
        return held
    }
}
