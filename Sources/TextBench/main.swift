// text-bench: times the sentence encoder for scripts/bench-text.
//
//   text-bench <model-folder> <sentences.txt> [--batch 32] [--threads 2] [--runs 3]
//
// Embeds every line of the file (tokenization included), `--runs` times after one warm-up,
// and prints `sentences=N seconds=S rate=R` for the best run on stdout.
import BenchSupport
import Foundation
import PipelineModels
import PipelineTensor

let arguments = BenchArguments()
arguments.require(2, usage: "text-bench <model-folder> <sentences.txt> [--batch 32] [--threads 2] [--runs 3]")
let positional = arguments.positional, options = arguments.options

do {
    // --threads bounds both compute pools: OpenBLAS and the worker pool.
    WorkerPool.setThreads(options["threads"] ?? 2)
    BLAS.setThreads(WorkerPool.threads)
    let encoder = try SentenceEncoder(folder: positional[0])
    let sentences = try String(contentsOfFile: positional[1], encoding: .utf8).split(separator: "\n").map(String.init)
    let batch = options["batch"] ?? 32
    _ = try encoder.embed(sentences, batchSize: batch)
    let best = try bestSeconds(runs: arguments.runs) { _ = try encoder.embed(sentences, batchSize: batch) }
    let tokenStart = Date()
    for start in stride(from: 0, to: sentences.count, by: batch) {
        _ = encoder.tokenizer.encodeBatch(Array(sentences[start..<min(sentences.count, start + batch)]))
    }
    let tokenizing = Date().timeIntervalSince(tokenStart)
    print("sentences=\(sentences.count) seconds=\(String(format: "%.4f", best)) rate=\(String(format: "%.1f", Double(sentences.count) / best))"
        + " tokenize=\(String(format: "%.4f", tokenizing))")
} catch {
    fail("text-bench", error)
}
