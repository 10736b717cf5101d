import Foundation
import PipelineCore
import PipelineModels

/// Generates text with a GGUF language model: a prompt (or chat messages) in, the completion
/// out as it is produced (`tokens`), then the whole text and a record with timings.
final class LLMGenerate: PipelineNode {
    static let type = "llm.generate"
    static let summary = "Generates text from a prompt or chat messages with a GGUF model (streams tokens)."
    static let inputs = [
        PortSpec("prompt", .any,
            doc: "text, chat messages, or {prompt | messages, prefix}: prefix a [count, width] tensor (fusion.projector / fusion.resampler embeddings) fed where the user turn begins"),
        PortSpec("prefix", .tensor, optional: true,
            doc: "a [count, width] tensor of embeddings (fusion.projector / fusion.resampler) fed where the user turn begins, joined with the prompt of the same item"),
    ]
    static let outputs = [PortSpec("tokens", .text), PortSpec("text", .text), PortSpec("result", .json)]
    static let options = [
        OptionSpec("model", .string, default: "SmolLM2-135M-Instruct.Q4_1.gguf",
            doc: "a .gguf path (relative to the pipeline file) or a file name in the model folder (~/.cache/pipeline/models or $PIPELINE_MODELS)"),
        OptionSpec("chat", .bool, default: true,
            doc: "wrap text prompts as a user message in the chat template; false tokenizes the prompt as given (special tokens recognised)"),
        OptionSpec("system", .string, doc: "a system message put before the conversation (chat mode)"),
        OptionSpec("chat_template", .string, doc: "a Jinja chat template to use instead of the model's own"),
        OptionSpec("max_tokens", .int, default: 256, range: 1...1_000_000, doc: "the most tokens to generate"),
        OptionSpec("temperature", .double, default: 0, range: 0...100, doc: "0 is greedy; higher samples more freely"),
        OptionSpec("top_k", .int, default: 0, range: 0...1_000_000, doc: "sample among the k most likely tokens (0: all)"),
        OptionSpec("top_p", .double, default: 1, range: 0.000001...1, doc: "sample among the most likely tokens whose probabilities reach p"),
        OptionSpec("min_p", .double, default: 0, range: 0...0.999999, doc: "drop tokens below min_p times the top probability"),
        OptionSpec("repeat_penalty", .double, default: 1, range: 0.01...100, doc: "penalise tokens seen in the last repeat_last_n (1: off)"),
        OptionSpec("repeat_last_n", .int, default: 64, range: 0...1_000_000, doc: "how many recent tokens the penalty looks at"),
        OptionSpec("seed", .int, default: 0, range: 0...9_007_199_254_740_991, doc: "random seed: the same seed repeats a sampled run"),
        OptionSpec("stop", .strings, default: .array([]), doc: "strings that end the completion (not included)"),
        OptionSpec("grammar", .string,
            doc: "hold the output to a GBNF grammar (llama.cpp's syntax): the text itself, or a .gbnf file (relative to the pipeline file, else to the working directory)",
            check: { StructuredOutput.check(.grammar, $0, $1) }),
        OptionSpec("schema", .json,
            doc: "hold the output to a JSON Schema (inline, or a .json file); result is then the parsed value. Unsupported keywords are validation errors",
            check: { StructuredOutput.check(.schema, $0, $1) }),
        OptionSpec("choices", .strings,
            doc: "the output is exactly one of these strings",
            check: { StructuredOutput.check(.choices, $0, $1) }),
        OptionSpec("scoring", .bool, default: false,
            doc: "with choices: score every choice by the summed log-probability of its tokens after the prompt (the prompt evaluated once) instead of generating; result is {label, logprobs, probabilities}"),
    ]
    static let example = """
        - id: answer
          type: llm.generate
          inputs: {prompt: question.text}
          with: {max_tokens: 64, system: "Answer in one sentence."}
        - id: sentiment
          type: llm.generate
          inputs: {prompt: review.text}
          with: {choices: [positive, negative, neutral], system: "Classify the review's sentiment."}
        - id: record
          type: llm.generate
          inputs: {prompt: question.text}
          with:
            schema: {type: object, properties: {name: {type: string}, age: {type: integer, minimum: 0}}, required: [name, age]}
        """

    private let model: LoadedModel
    private let template: ChatTemplate?
    private let chat: Bool
    private let system: String?
    private let maxTokens: Int
    private let sampling: SamplingOptions
    private let stop: [String]
    private let constraint: GrammarConstraint?
    private let constraintKind: StructuredOutput.Kind?
    /// With `scoring: true`: each choice's label and its tokens (no BOS, no special tokens).
    private let scored: [(label: String, tokens: [Int])]?

    init(options: Options, context: NodeContext) throws {
        var name = options.string("model")!
        if name.contains("/") && !name.hasPrefix("/") { name = context.pipelineDirectory + "/" + name }
        model = try LoadedModel.shared(path: LoadedModel.resolve(name))
        if let source = options.string("chat_template") {
            template = try ChatTemplate(source)
        } else {
            template = model.chatTemplate
        }
        chat = options.bool("chat")!
        system = options.string("system")
        maxTokens = options.int("max_tokens")!
        sampling = SamplingOptions(
            temperature: Float(options.double("temperature")!), topK: options.int("top_k")!,
            topP: Float(options.double("top_p")!), minP: Float(options.double("min_p")!),
            repetitionPenalty: Float(options.double("repeat_penalty")!), repetitionWindow: options.int("repeat_last_n")!,
            seed: UInt64(options.int("seed")!))
        if let problem = sampling.problem { throw NodeError(problem) }
        stop = options.strings("stop") ?? []
        let given = StructuredOutput.Kind.allCases.filter { options[$0.rawValue] != nil }
        if given.count > 1 {
            throw NodeError("give one of grammar, schema and choices, not " + given.map(\.rawValue).joined(separator: " and "))
        }
        if let kind = given.first {
            let compiled = try StructuredOutput.compile(kind, options[kind.rawValue]!, OptionCheckContext(pipelineDirectory: context.pipelineDirectory))
            constraint = try StructuredOutput.constraint(compiled, model: model)
            constraintKind = kind
        } else {
            constraint = nil
            constraintKind = nil
        }
        if options.bool("scoring")! {
            guard let choices = options.strings("choices") else { throw NodeError("scoring: true needs choices") }
            let tokenizer = model.tokenizer
            scored = choices.map { ($0, tokenizer.encode($0, parseSpecial: false, addSpecial: false)) }
        } else {
            scored = nil
        }
        if chat && template == nil {
            throw NodeError(GenerationError.noChatTemplate((model.path as NSString).lastPathComponent).description)
        }
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        let (promptText, prefix, splitAt) = try prompt(from: input["prompt"], prefixPort: input.packet("prefix")?.value)
        if let scored {
            guard prefix.isEmpty else { throw NodeError("scoring does not take embeddings") }
            let scores: [ChoiceScore]
            do {
                scores = try model.score(prompt: model.tokenizer.encode(promptText), choices: scored.map(\.tokens))
            } catch let error as ScoringError {
                throw NodeError(error.description)
            }
            let record = ChoiceRecord.make(labels: scored.map(\.label), scores: scores)
            try output.emit(record.objectValue!["label"]!, to: "text")
            try output.emit(record, to: "result")
            return
        }
        var request: GenerationRequest
        if let splitAt, !prefix.isEmpty {
            // The prefix goes where the user turn's content begins: the text before it and the
            // rest are tokenized apart (as the fusion training script does).
            let head = model.tokenizer.encode(String(promptText[..<splitAt]))
            let rest = model.tokenizer.encode(String(promptText[splitAt...]))
            request = GenerationRequest(prompt: head + rest, maxTokens: maxTokens, sampling: sampling, stop: stop)
            request.prefixAt = head.count
        } else {
            request = GenerationRequest(prompt: model.tokenizer.encode(promptText), maxTokens: maxTokens, sampling: sampling, stop: stop)
        }
        request.prefix = prefix
        request.constraint = constraint
        var piece = 0
        var emitError: (any Error)?
        let result: GenerationResult
        do {
            result = try model.generate(request) { text in
                guard emitError == nil else { return }
                do { try output.emit(.string(text), to: "tokens", sequence: piece) } catch { emitError = error }
                piece += 1
            }
        } catch let error as GenerationError {
            throw NodeError(error.description)
        }
        if let emitError { throw emitError }
        if let kind = constraintKind, result.finishReason == .length {
            throw NodeError("finish_reason: length: max_tokens (\(maxTokens)) or the context ended the output before the \(kind.rawValue) was complete; nothing is passed on")
        }
        try output.emit(.string(result.text), to: "text")
        if constraintKind == .schema {
            // The grammar only lets valid JSON through, so this parse cannot fail on a finished value.
            let parsed: JSONValue
            do {
                parsed = try JSONValue(parsing: result.text)
            } catch {
                throw NodeError("the constrained output is not JSON (\(error)): \(result.text.prefix(200))")
            }
            try output.emit(StructuredOutput.value(parsed), to: "result")
            return
        }
        try output.emit(.object([
            "text": .string(result.text),
            "model": .string((model.path as NSString).lastPathComponent),
            "prompt_tokens": .int(result.promptTokens),
            "completion_tokens": .int(result.tokens.count),
            "finish_reason": .string(result.finishReason.rawValue),
            "prefill_tokens_per_second": .double((result.prefillTokensPerSecond * 10).rounded() / 10),
            "decode_tokens_per_second": .double((result.decodeTokensPerSecond * 10).rounded() / 10),
        ]), to: "result")
    }

    /// The prompt text for an input: text (wrapped as a user turn in chat mode), an array of
    /// `{role, content}` messages, or an object with `messages` or `prompt` and optionally
    /// `prefix` (a `[count, width]` tensor, e.g. `fusion.projector`'s `embeddings`) or
    /// `embeddings` (a list of vectors). In chat mode the prefix goes where the first user
    /// turn's content begins (the returned index into the text); otherwise before the prompt.
    private func prompt(from value: Value, prefixPort: Value?) throws -> (String, [[Float]], String.Index?) {
        var messages: [ChatMessage]? = nil
        var text: String? = value.stringValue
        var prefix: [[Float]] = []
        if let prefixPort {
            if case .object(let fields) = value, fields["prefix"] != nil || fields["embeddings"] != nil {
                throw NodeError("the item has a prefix both on the prefix port and inside the prompt record; give it once")
            }
            prefix = try prefixVectors(prefixPort)
        }
        switch value {
        case .array(let list):
            messages = try list.map(message)
        case .object(let fields):
            if case .array(let list)? = fields["messages"] { messages = try list.map(message) }
            text = fields["prompt"]?.stringValue
            if case .array(let vectors)? = fields["embeddings"] {
                prefix = try vectors.map { v in
                    guard case .array(let xs) = v, let floats = Optional(xs.compactMap(\.doubleValue)), floats.count == xs.count else {
                        throw NodeError("embeddings must be a list of number lists")
                    }
                    return floats.map { Float($0) }
                }
            }
            if let given = fields["prefix"] { prefix = try prefixVectors(given) }
            if messages == nil && text == nil { throw NodeError("expected 'messages' or 'prompt' in the input object") }
        default:
            guard text != nil else { throw NodeError("expected text or chat messages, got \(value.kindName)") }
        }
        if !chat {
            guard let text else { throw NodeError("chat messages need chat: true") }
            return (text, prefix, nil)
        }
        var turns = messages ?? [ChatMessage(role: "user", content: text ?? "")]
        if let system, turns.first?.role != "system" { turns.insert(ChatMessage(role: "system", content: system), at: 0) }
        do {
            guard !prefix.isEmpty, let user = turns.firstIndex(where: { $0.role == "user" }) else {
                return (try template!.render(turns), prefix, nil)
            }
            // Render once with a marker at the start of the user's content to find where it begins.
            let marker = "\u{E000}prefix\u{E000}"
            var markedTurns = turns
            markedTurns[user].content = marker + turns[user].content
            let marked = try template!.render(markedTurns)
            guard let range = marked.range(of: marker) else { return (try template!.render(turns), prefix, nil) }
            let rendered = marked.replacingCharacters(in: range, with: "")
            return (rendered, prefix, rendered.index(rendered.startIndex, offsetBy: marked.distance(from: marked.startIndex, to: range.lowerBound)))
        } catch let error as JinjaError {
            throw NodeError(error.description)
        }
    }

    /// The vectors of a `[count, width]` prefix tensor, checked against the model's width.
    private func prefixVectors(_ given: Value) throws -> [[Float]] {
        guard let tensor = given.tensorPayload, tensor.shape.count == 2, tensor.shape[0] > 0,
              tensor.data.count == tensor.shape[0] * tensor.shape[1] else {
            throw NodeError("prefix must be a [count, width] tensor (a fusion node's embeddings), got \(given.tensorPayload.map { "shape \($0.shape)" } ?? given.kindName)")
        }
        guard tensor.shape[1] == model.model.width else {
            throw NodeError("prefix vectors are \(tensor.shape[1]) wide (shape \(tensor.shape)) but \((model.path as NSString).lastPathComponent) takes \(model.model.width)-wide embeddings")
        }
        let w = tensor.shape[1]
        return (0..<tensor.shape[0]).map { Array(tensor.data[$0 * w..<($0 + 1) * w]) }
    }

    private func message(_ v: Value) throws -> ChatMessage {
        guard case .object(let f) = v, let role = f["role"]?.stringValue, let content = f["content"]?.stringValue else {
            throw NodeError("each chat message needs 'role' and 'content' strings")
        }
        return ChatMessage(role: role, content: content)
    }
}
