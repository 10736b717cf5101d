import ArgumentParser
import Foundation
import PipelineCore
import PipelineModels
import PipelineNodes

/// `pipeline-bench prompt`: `head.prompt` for scripts/bench-prompt.
///
/// Runs `head.prompt` on generated short reviews under a ~300-token shared instruction, with
/// and without prefix reuse, alternating in one process; then choice scoring one by one vs
/// batched. Prints one line per measurement.
struct PromptBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prompt",
        abstract: "head.prompt with and without prefix reuse, and choice scoring (scripts/bench-prompt).")
    @Argument(help: "The model (.gguf path or name).") var model: String
    @Option(help: "Reviews per run.") var items = 200
    @Option(help: "Rounds; median and best are reported.") var runs = 3
    @Option(help: "Decoding threads.") var threads = 2
    @Option(help: "Tokens of the reply task (0: no reply task).") var replyTokens = 8
    @Option(help: "Timed rounds of choice scoring.") var scoringRuns = 5

    func run() throws {
        let items = max(1, self.items)
        let threads = max(1, self.threads)
        let replyTokens = max(0, self.replyTokens)
        let scoringRuns = max(1, self.scoringRuns)
        let path = try LoadedModel.resolve(self.model)
        let model = try LoadedModel.shared(path: path)
        model.model.threads = threads
        guard let template = model.chatTemplate else { throw GenerationError.noChatTemplate(path) }
        let texts = reviews(items)
        let systemTokens = model.tokenizer.encode(try template.render([ChatMessage(role: "system", content: instruction)],
                                                                      addGenerationPrompt: false)).count
        var tasks: [String: Value] = [
            "sentiment": .object([
                "prompt": .string("Is the customer happy or unhappy? Review: {text}"),
                "choices": .object(["positive": .string("The customer is happy."), "negative": .string("The customer is unhappy."),
                                    "mixed": .string("The customer has mixed feelings.")]),
            ]),
            "topic": .object([
                "prompt": .string("What is the review mainly about? Review: {text}"),
                "choices": .object(["quality": .string("It is about the product's quality."),
                                    "delivery": .string("It is about the delivery."),
                                    "service": .string("It is about customer service."),
                                    "price": .string("It is about the price.")]),
            ]),
        ]
        if replyTokens > 0 {
            tasks["reply"] = .object(["prompt": .string("Write a one-line reply to this review: {text}"),
                                      "max_tokens": .int(replyTokens), "stop": .string("\n")])
        }
        guard let headPrompt = BuiltinNodes.all.first(where: { $0.type == "head.prompt" }) else { throw NodeError("no head.prompt") }
        func harness(reuse: Bool) throws -> NodeHarness {
            try NodeHarness(headPrompt, options: ["model": .string(path), "system": .string(instruction), "tasks": .object(tasks),
                                                  "reuse": .bool(reuse)])
        }
        print("cpu: \((try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.split(separator: "\n").first { $0.hasPrefix("model name") }.map { String($0.split(separator: ":", maxSplits: 1)[1]).trimmingCharacters(in: .whitespaces) } ?? "unknown")")
        print("model: \((path as NSString).lastPathComponent), threads \(threads)")
        print("head.prompt: \(items) reviews, tasks \(tasks.keys.sorted().joined(separator: ", ")) (reply \(replyTokens) tokens), "
              + "shared instruction \(systemTokens) tokens (system turn)")
        // Each round: a fresh prefix cache, then every review through both nodes, reuse off then
        // on, each timed alone, so both modes see the same machine load as it changes.
        var rates: [Bool: [Double]] = [false: [], true: []]
        var records: [Bool: [Value]] = [:]
        for run in 1...max(1, runs) {
            model.prefixes.reset()
            let nodes = [false: try harness(reuse: false), true: try harness(reuse: true)]
            var spent: [Bool: Double] = [false: 0, true: 0]
            var out: [Bool: [Value]] = [false: [], true: []]
            for (i, text) in texts.enumerated() {
                for reuse in [false, true] {
                    spent[reuse]! += try seconds { out[reuse]! += try nodes[reuse]!.process(.string(text), item: "r\(i)").map(\.value) }
                }
            }
            for reuse in [false, true] {
                rates[reuse]!.append(Double(items) / spent[reuse]!)
                if let earlier = records[reuse], earlier != out[reuse]! { throw NodeError("run \(run): records differ between runs") }
                records[reuse] = out[reuse]!
            }
            let stats = model.prefixes.statistics
            print(String(format: "  run %d: reuse off %.3f items/s (%.1f s), reuse on %.3f items/s (%.1f s); ", run,
                         Double(items) / spent[false]!, spent[false]!, Double(items) / spent[true]!, spent[true]!)
                  + "\(stats.hits) hits, \(stats.reusedTokens) tokens reused, \(stats.stored) prefixes kept")
        }
        print("records identical with and without reuse: \(records[false] == records[true] ? "yes" : "NO")")
        let off = rates[false]!, on = rates[true]!
        print(String(format: "head.prompt items/s: reuse off median %.3f best %.3f; reuse on median %.3f best %.3f; speed-up median %.2fx best %.2fx",
                     median(off), off.max()!, median(on), on.max()!, median(on) / median(off), on.max()! / off.max()!))

        // Choice scoring: one prompt (instruction + a review), four multi-token choices.
        let prompt = model.tokenizer.encode(try template.render([
            ChatMessage(role: "system", content: instruction),
            ChatMessage(role: "user", content: "What is the review mainly about? Review: \(texts[0])"),
        ]))
        let choices = ["It is about the product's quality.", "It is about the delivery.", "It is about customer service.",
                       "It is about the price."].map { model.tokenizer.encode($0, parseSpecial: false, addSpecial: false) }
        print("scoring: prompt \(prompt.count) tokens, \(choices.count) choices of \(choices.map(\.count)) tokens")
        var times: [String: [Double]] = [:]
        var results: [String: [ChoiceScore]] = [:]
        let modes = ["one by one (prompt + choice per choice, token by token)", "batched (prompt once, one chunk per choice)",
                     "batched, prompt prefix kept (warm cache)"]
        model.prefixes.reset()
        _ = try model.score(prompt: prompt, choices: choices, reuse: .prefix(prompt.count))
        for _ in 0..<scoringRuns {
            for mode in modes {
                var scores: [ChoiceScore] = []
                let t = try seconds {
                    switch mode {
                    case modes[0]: scores = try choices.flatMap { try model.score(prompt: prompt, choices: [$0], reuse: .off, batched: false) }
                    case modes[1]: scores = try model.score(prompt: prompt, choices: choices, reuse: .off)
                    default: scores = try model.score(prompt: prompt, choices: choices, reuse: .prefix(prompt.count))
                    }
                }
                times[mode, default: []].append(t)
                results[mode] = scores
            }
        }
        for mode in modes {
            let ts = times[mode]!
            print(String(format: "  %@: median %.1f ms, best %.1f ms", mode, median(ts) * 1000, ts.min()! * 1000))
        }
        print("scores identical across modes: \(Set(modes.map { results[$0]!.map(\.tokenLogprobs) }).count == 1 ? "yes" : "NO")")
        print(String(format: "scoring speed-up, batched vs one by one: median %.2fx", median(times[modes[0]]!) / median(times[modes[1]]!)))
    }
}

/// A shop's review-triage guidelines: the instruction every item and task shares.
let instruction = """
    You are the review-triage assistant of Harbour Kitchenware, a small online shop that sells kettles, \
    teapots, knives, pans, mugs, cutting boards and coffee grinders. Every review you read was written by \
    a customer after delivery. Your answers feed a dashboard that the shop's three staff members read \
    each morning, so they must be short, consistent and free of speculation.

    Guidelines:
    1. Judge the customer's overall feeling about their purchase, not the product category in general.
    2. A review that praises the product but complains about delivery is mixed unless one side clearly dominates.
    3. Sarcasm counts as negative when the literal words are positive but the facts described are bad.
    4. Mentions of price alone ("a bit pricey") do not make a review negative.
    5. When a review mentions breakage, leaks, rust, burns or missing parts, treat it as a quality problem.
    6. When a review mentions late parcels, damaged boxes or couriers, treat it as a delivery problem.
    7. When a review mentions refunds, replies from staff, or being ignored, treat it as a service problem.
    8. Replies are one line, polite, never promise refunds, and never ask for personal data.
    9. Do not repeat the review back to the customer. Do not use exclamation marks in replies.
    10. If a review is written in another language, judge it the same way and reply in English.
    Examples of the tone we want: "Thank you, we are glad the kettle suits your kitchen." and \
    "We are sorry the lid arrived cracked; our team will contact you about a replacement."
    """

/// `count` short reviews, varied and deterministic.
func reviews(_ count: Int) -> [String] {
    let products = ["kettle", "teapot", "chef's knife", "frying pan", "mug set", "cutting board", "coffee grinder", "milk pan"]
    let praise = ["works perfectly", "looks lovely on the shelf", "is sturdy and well made", "heats evenly", "is very sharp",
                  "was a great gift"]
    let faults = ["leaked after a week", "arrived with a cracked lid", "rusted quickly", "stopped working", "burns everything",
                  "had a missing part"]
    let extras = ["Delivery was quick.", "The parcel came two weeks late.", "Support never answered my email.",
                  "A bit pricey.", "Would buy again.", "", "The box was crushed.", "Staff replied within an hour."]
    var state: UInt64 = 42
    func next(_ n: Int) -> Int {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Int((state >> 33) % UInt64(n))
    }
    return (0..<count).map { _ in
        let product = products[next(products.count)]
        let what = next(2) == 0 ? praise[next(praise.count)] : faults[next(faults.count)]
        return "The \(product) \(what). \(extras[next(extras.count)])".trimmingCharacters(in: .whitespaces)
    }
}
