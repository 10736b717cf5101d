import ArgumentParser
import Foundation
import PipelineModels

/// `pipeline-bench text`: times the sentence encoder for scripts/bench-text.
///
/// Embeds every line of the file (tokenization included), `--runs` times after one warm-up,
/// and prints `sentences=N seconds=S rate=R tokenize=T precision=P` for the best run; P is the
/// arithmetic the linear layers ran in (bfloat16 only where the CPU and the kernel path have it).
struct TextBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "text",
        abstract: "Time the sentence encoder on every line of a file (scripts/bench-text).")
    @Argument(help: "The model folder (MiniLM).") var modelFolder: String
    @Argument(help: "A text file, one sentence per line.") var sentencesFile: String
    @Option(help: "Sentences per batch.") var batch = 32
    @Option(help: "The linear layers' arithmetic: \(LinearPrecision.allCases.map(\.rawValue).joined(separator: ", ")).")
    var precision: LinearPrecision = .bfloat16
    @OptionGroup var compute: ComputeOptions

    func run() throws {
        compute.applyThreads(default: 2)
        let encoder = try SentenceEncoder(folder: modelFolder, precision: precision)
        let sentences = try String(contentsOfFile: sentencesFile, encoding: .utf8).split(separator: "\n").map(String.init)
        _ = try encoder.embed(sentences, batchSize: batch)
        let best = try bestSeconds(runs: compute.timedRuns) { _ = try encoder.embed(sentences, batchSize: batch) }
        let tokenStart = Date()
        for start in stride(from: 0, to: sentences.count, by: batch) {
            _ = encoder.tokenizer.encodeBatch(Array(sentences[start..<min(sentences.count, start + batch)]))
        }
        let tokenizing = Date().timeIntervalSince(tokenStart)
        print("sentences=\(sentences.count) seconds=\(String(format: "%.4f", best)) rate=\(String(format: "%.1f", Double(sentences.count) / best))"
            + " tokenize=\(String(format: "%.4f", tokenizing)) precision=\(encoder.model.activePrecision.rawValue)")
    }
}

extension LinearPrecision: ExpressibleByArgument {}
