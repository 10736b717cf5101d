import Foundation
import PipelineCore
import PipelineModels

/// Several named tasks on one GGUF model for every item: choice tasks (the likeliest of fixed
/// labels, by summed log-probability) and text tasks (a short greedy completion), each from its
/// own prompt template, under one shared system message. Emits one record per item with a field
/// per task.
///
/// The shared part of the prompts (the system message, each task's instructions) is evaluated
/// once: prompts go through the model's prefix cache, which keeps the tokens a prompt shares
/// with recent ones and restores them (a copy of their KV cache) for every later prompt that
/// starts the same way. Results are bit-identical with `reuse: false`, only slower.
final class HeadPrompt: PipelineNode {
    static let type = "head.prompt"
    static let summary = "Runs several named prompt tasks (choices by likelihood, short text, schema-held JSON) on one GGUF model per item."
    static let inputs = [PortSpec("input", .any, doc: "text (fills {text}) or a record whose fields fill {field} placeholders")]
    static let outputs = [PortSpec("record", .json, doc: "{ task: {label, logprobs, probabilities} | {text, finish_reason} | the schema's value | the grammar's text }")]
    static let options = [
        OptionSpec("model", .string, default: "SmolLM2-135M-Instruct.Q4_1.gguf",
            doc: "a .gguf path (relative to the pipeline file) or a file name in the model folder (~/.cache/pipeline/models or $PIPELINE_MODELS)"),
        OptionSpec("tasks", .json, required: true,
            doc: "task name -> {prompt, choices} (the likeliest answer: choices a list of strings, or a map of labels to the "
                + "texts scored), {prompt, max_tokens, stop} (greedy text), {prompt, schema, max_tokens} (the parsed JSON value) "
                + "or {prompt, grammar, max_tokens} (GBNF-constrained text); prompts fill {text} and {field} from the item",
            check: { value, context in PromptTask.parse(value, context).findings }),
        OptionSpec("system", .string, doc: "a system message shared by every task (chat mode); evaluated once thanks to prefix reuse"),
        OptionSpec("chat", .bool, default: true,
            doc: "wrap each task's prompt as a user message in the chat template; false feeds system + prompt as plain text"),
        OptionSpec("chat_template", .string, doc: "a Jinja chat template to use instead of the model's own"),
        OptionSpec("reuse", .bool, default: true,
            doc: "reuse the KV cache of shared prompt prefixes across items and tasks (false: evaluate every prompt whole)"),
    ]
    static let example = """
        - id: triage
          type: head.prompt
          inputs: {input: reviews.text}
          with:
            system: "You triage customer reviews for a shop."
            tasks:
              sentiment: {prompt: "Review: {text}\\nIs this review positive, negative or neutral?", choices: [positive, negative, neutral]}
              reply: {prompt: "Review: {text}\\nWrite a one-line reply to the customer.", max_tokens: 40, stop: ["\\n"]}
        """

    private let model: LoadedModel
    private let template: ChatTemplate?
    private let tasks: [PromptTask]
    /// Each choice task's choices as token ids (tokenized alone: no BOS, no special tokens).
    private let choiceTokens: [String: [[Int]]]
    /// Each schema or grammar task's constraint (compiled once, shared per model and grammar).
    private let constraints: [String: GrammarConstraint]
    private let system: String?
    private let reuse: PrefixReuse

    init(options: Options, context: NodeContext) throws {
        var name = options.string("model")!
        if name.contains("/") && !name.hasPrefix("/") { name = context.pipelineDirectory + "/" + name }
        let model = try LoadedModel.shared(path: LoadedModel.resolve(name))
        self.model = model
        let checkContext = OptionCheckContext(pipelineDirectory: context.pipelineDirectory)
        let parsed = PromptTask.parse(options["tasks"]!, checkContext)
        if let problem = parsed.findings.first { throw NodeError("tasks: \(problem)") }
        tasks = parsed.tasks
        system = options.string("system")
        reuse = options.bool("reuse")! ? .automatic : .off
        if options.bool("chat")! {
            if let source = options.string("chat_template") {
                template = try ChatTemplate(source)
            } else if let own = model.chatTemplate {
                template = own
            } else {
                throw NodeError(GenerationError.noChatTemplate((model.path as NSString).lastPathComponent).description)
            }
        } else {
            template = nil
        }
        var choiceTokens: [String: [[Int]]] = [:]
        for task in tasks {
            guard case .choices(let choices) = task.kind else { continue }
            choiceTokens[task.name] = choices.map { model.tokenizer.encode($0.text, parseSpecial: false, addSpecial: false) }
        }
        self.choiceTokens = choiceTokens
        var constraints: [String: GrammarConstraint] = [:]
        for task in tasks {
            guard case .constrained(let kind, let spec, _) = task.kind else { continue }
            constraints[task.name] = try StructuredOutput.constraint(StructuredOutput.compile(kind, spec, checkContext), model: model)
        }
        self.constraints = constraints
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        let fields: [String: String]
        switch input.value {
        case .string(let text): fields = ["text": text]
        case .object(let map):
            fields = map.compactMapValues { v in
                switch v {
                case .string(let s): return s
                case .int(let i): return String(i)
                case .double(let d): return String(d)
                case .bool(let b): return String(b)
                default: return nil
                }
            }
        default: throw NodeError("expected text or a record, got \(input.value.kindName)")
        }
        var record: [String: Value] = [:]
        for task in tasks {
            record[task.name] = try run(task, fields: fields)
        }
        try output.emit(.object(record))
    }

    /// One task on one item's fields.
    private func run(_ task: PromptTask, fields: [String: String]) throws -> Value {
        let text: String
        switch task.render({ fields[$0] }) {
        case .success(let s): text = s
        case .failure(let missing):
            throw NodeError("task '\(task.name)': the prompt uses {\(missing.name)} but the item has no text field '\(missing.name)'")
        }
        let prompt = try tokens(for: text)
        do {
            switch task.kind {
            case .choices(let choices):
                let scores = try model.score(prompt: prompt, choices: choiceTokens[task.name]!, reuse: reuse)
                return ChoiceRecord.make(labels: choices.map(\.label), scores: scores)
            case .text(let maxTokens, let stop):
                var request = GenerationRequest(prompt: prompt, maxTokens: maxTokens, stop: stop)
                request.reuse = reuse
                let result = try model.generate(request)
                return .object(["text": .string(result.text), "finish_reason": .string(result.finishReason.rawValue)])
            case .constrained(let kind, _, let maxTokens):
                var request = GenerationRequest(prompt: prompt, maxTokens: maxTokens)
                request.reuse = reuse
                request.constraint = constraints[task.name]
                let result = try model.generate(request)
                guard result.finishReason != .length else {
                    throw NodeError("task '\(task.name)': finish_reason: length: max_tokens (\(maxTokens)) ended the output before the \(kind.rawValue) was complete; nothing is passed on")
                }
                guard kind == .schema else { return .string(result.text) }
                do {
                    return StructuredOutput.value(try JSONValue(parsing: result.text))
                } catch {
                    throw NodeError("task '\(task.name)': the constrained output is not JSON (\(error)): \(result.text.prefix(200))")
                }
            }
        } catch let error as GenerationError {
            throw NodeError("task '\(task.name)': \(error)")
        } catch let error as ScoringError {
            throw NodeError("task '\(task.name)': \(error)")
        }
    }

    /// The prompt's token ids: the system message and the task prompt as a chat (user turn,
    /// then the assistant's turn opened), or plain text (system, a blank line, the prompt).
    private func tokens(for prompt: String) throws -> [Int] {
        guard let template else {
            return model.tokenizer.encode(system.map { $0 + "\n\n" + prompt } ?? prompt)
        }
        var turns = [ChatMessage(role: "user", content: prompt)]
        if let system { turns.insert(ChatMessage(role: "system", content: system), at: 0) }
        do {
            return model.tokenizer.encode(try template.render(turns))
        } catch let error as JinjaError {
            throw NodeError(error.description)
        }
    }
}
