import ArgumentParser
import Foundation
import PipelineModels
import PipelineTensor

/// `pipeline generate`: one completion from a GGUF model, streamed to stdout.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate text with a GGUF model; the completion streams to stdout, timings go to stderr.")

    @Option(help: "A .gguf path, or a file name (or unique prefix) in the model folder.") var model: String
    @Option(help: "The prompt. Without --chat it is tokenized as given (special tokens such as <|im_start|> recognised).")
    var prompt: String?
    @Option(help: "Read the prompt from a file instead.") var promptFile: String?
    @Flag(help: "Keep generating past the end-of-text token (for benchmarks).") var ignoreEos = false
    @Flag(help: "Wrap the prompt as a user message in the model's chat template.") var chat = false
    @Option(help: "A system message (with --chat).") var system: String?
    @Option(help: "The most tokens to generate.") var maxTokens = 256
    @Option(help: "0 is greedy.") var temperature: Float = 0
    @Option(help: "Sample among the k most likely tokens (0: all).") var topK = 0
    @Option(help: "Nucleus sampling threshold (1: off).") var topP: Float = 1
    @Option(help: "Drop tokens below min-p times the top probability (0: off).") var minP: Float = 0
    @Option(help: "Penalty for recently seen tokens (1: off).") var repeatPenalty: Float = 1
    @Option(help: "Random seed for sampling.") var seed: UInt64 = 0
    @Option(help: "A string that ends the completion (repeatable).") var stop: [String] = []
    @Option(help: "Threads for every compute pool: the worker pool and OpenBLAS (default: PIPELINE_THREADS, else all cores).")
    var threads: Int?
    @OptionGroup var isa: ISAOptions
    @Option(help: "Hold the output to a GBNF grammar file (llama.cpp's syntax).") var grammar: String?
    @Option(help: "Hold the output to a JSON Schema file; only the JSON text is printed.") var schema: String?
    @Option(help: "The output is exactly one of these (repeatable).") var choice: [String] = []

    func run() throws {
        let sampling = SamplingOptions(
            temperature: temperature, topK: topK, topP: topP, minP: minP, repetitionPenalty: repeatPenalty, seed: seed)
        if let problem = sampling.problem { throw ValidationError(problem) }
        guard maxTokens > 0 else { throw ValidationError("--max-tokens must be at least 1") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        guard (prompt == nil) != (promptFile == nil) else { throw ValidationError("give one of --prompt and --prompt-file") }
        let prompt: String
        if let promptFile {
            guard let text = try? String(contentsOfFile: promptFile, encoding: .utf8) else {
                throw ValidationError("cannot read --prompt-file \(promptFile)")
            }
            prompt = text
        } else {
            prompt = self.prompt!
        }
        let path = try isa.apply()
        if let threads {
            WorkerPool.setThreads(threads)
            BLAS.setThreads(WorkerPool.threads)
        }
        let constrained = [grammar != nil, schema != nil, !choice.isEmpty].filter { $0 }.count
        guard constrained <= 1 else { throw ValidationError("give one of --grammar, --schema and --choice") }
        var compiled: Grammar? = nil
        do {
            if let grammar {
                guard let text = try? String(contentsOfFile: grammar, encoding: .utf8) else { throw ValidationError("cannot read --grammar \(grammar)") }
                compiled = try Grammar(gbnf: text)
            } else if let schema {
                guard let text = try? String(contentsOfFile: schema, encoding: .utf8) else { throw ValidationError("cannot read --schema \(schema)") }
                let value: JSONValue
                do { value = try JSONValue(parsing: text) } catch { throw ValidationError("\(schema): \(error)") }
                compiled = try JSONSchemaCompiler.grammar(for: value)
            } else if !choice.isEmpty {
                compiled = try Grammar(gbnf: "root ::= " + choice.map(JSONSchemaCompiler.gbnfLiteral).joined(separator: " | "))
            }
        } catch let error as GrammarError {
            throw ValidationError(((grammar ?? schema).map { "\($0): " } ?? "") + "\(error)")
        }
        do {
            let loaded = try LoadedModel.shared(path: LoadedModel.resolve(model))
            loaded.model.threads = WorkerPool.threads
            var text = prompt
            if chat {
                guard let template = loaded.chatTemplate else {
                    throw GenerationError.noChatTemplate((loaded.path as NSString).lastPathComponent)
                }
                var turns = [ChatMessage(role: "user", content: prompt)]
                if let system { turns.insert(ChatMessage(role: "system", content: system), at: 0) }
                text = try template.render(turns)
            }
            var request = GenerationRequest(
                prompt: loaded.tokenizer.encode(text), maxTokens: maxTokens, sampling: sampling, stop: stop)
            request.ignoreEndOfText = ignoreEos
            if let compiled {
                do {
                    request.constraint = try GrammarConstraint(grammar: compiled, vocabulary: GrammarVocabulary.of(loaded))
                } catch let error as GrammarError {
                    throw ValidationError("\(error)")
                }
            }
            let result = try loaded.generate(request) { piece in
                FileHandle.standardOutput.write(Data(piece.utf8))
            }
            FileHandle.standardOutput.write(Data("\n".utf8))
            FileHandle.standardError.write(Data((String(
                format: "%d prompt tokens, %.1f tok/s prefill; %d tokens, %.1f tok/s decode; stopped: %@; threads %d; isa %@",
                result.promptTokens, result.prefillTokensPerSecond, result.tokens.count, result.decodeTokensPerSecond,
                result.finishReason.rawValue, WorkerPool.threads, path.rawValue) + "\n").utf8))
            if result.finishReason == .length {
                Terminal.error("finish_reason: length: --max-tokens (\(maxTokens)) ended the output before it was complete")
                throw Exit.failed
            }
        } catch let error as GenerationError {
            Terminal.error("\(error)")
            throw Exit.failed
        } catch let error as GGUFError {
            Terminal.error("\(error)")
            throw Exit.failed
        } catch let error as ModelError {
            Terminal.error("\(error)")
            throw Exit.failed
        } catch let error as JinjaError {
            Terminal.error("\(error)")
            throw Exit.failed
        }
    }
}
