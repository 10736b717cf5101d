// text-bench: times the sentence encoder for scripts/bench-text.
//
//   text-bench <model-folder> <sentences.txt> [--batch 32] [--threads 2] [--runs 3]
//
// Embeds every line of the file (tokenization included), `--runs` times after one warm-up,
// and prints `sentences=N seconds=S rate=R` for the best run on stdout.
import Foundation
import PipelineModels
import PipelineTensor

var positional: [String] = []
var options: [String: Int] = [:]
var arguments = Array(CommandLine.arguments.dropFirst())[...]
while let argument = arguments.popFirst() {
    if argument.hasPrefix("--"), let value = arguments.popFirst().flatMap({ Int($0) }) {
        options[String(argument.dropFirst(2))] = value
    } else {
        positional.append(argument)
    }
}
guard positional.count == 2 else {
    FileHandle.standardError.write(Data("usage: text-bench <model-folder> <sentences.txt> [--batch 32] [--threads 2] [--runs 3]\n".utf8))
    exit(2)
}

do {
    BLAS.setThreads(options["threads"] ?? 2)
    let encoder = try SentenceEncoder(folder: positional[0])
    let sentences = try String(contentsOfFile: positional[1], encoding: .utf8).split(separator: "\n").map(String.init)
    let batch = options["batch"] ?? 32
    _ = try encoder.embed(sentences, batchSize: batch)
    var best = Double.infinity
    for _ in 0..<max(1, options["runs"] ?? 3) {
        let start = Date()
        _ = try encoder.embed(sentences, batchSize: batch)
        best = min(best, Date().timeIntervalSince(start))
    }
    let tokenStart = Date()
    for start in stride(from: 0, to: sentences.count, by: batch) {
        _ = encoder.tokenizer.encodeBatch(Array(sentences[start..<min(sentences.count, start + batch)]))
    }
    let tokenizing = Date().timeIntervalSince(tokenStart)
    print("sentences=\(sentences.count) seconds=\(String(format: "%.4f", best)) rate=\(String(format: "%.1f", Double(sentences.count) / best))"
        + " tokenize=\(String(format: "%.4f", tokenizing))")
} catch {
    FileHandle.standardError.write(Data("text-bench: \(error)\n".utf8))
    exit(1)
}
