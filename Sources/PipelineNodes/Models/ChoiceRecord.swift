import Foundation
import PipelineCore
import PipelineModels

/// The record a choice task emits (`head.prompt`'s choice tasks, `llm.generate` with
/// `scoring: true`): the likeliest label, every label's summed log-probability, and the softmax
/// of those sums over the choices.
enum ChoiceRecord {
    static func make(labels: [String], scores: [ChoiceScore]) -> Value {
        let sums = scores.map(\.logprob)
        let top = sums.max()!
        let total = sums.reduce(0) { $0 + exp($1 - top) }
        var logprobs: [String: Value] = [:], probabilities: [String: Value] = [:]
        for (label, sum) in zip(labels, sums) {
            logprobs[label] = .double(sum)
            probabilities[label] = .double(exp(sum - top) / total)
        }
        return .object([
            "label": .string(labels[sums.firstIndex(of: top)!]),
            "logprobs": .object(logprobs),
            "probabilities": .object(probabilities),
        ])
    }
}
