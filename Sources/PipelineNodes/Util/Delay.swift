import Foundation
import PipelineCore

/// Holds each packet for a while before passing it on: rate limiting, and a slow stage
/// for trying queue policies.
final class Delay: PipelineNode {
    static let type = "util.delay"
    static let summary = "Passes packets on after a delay (rate limiting; a slow stage for tests)."
    static let inputs = [PortSpec("in", .any)]
    static let outputs = [PortSpec("out", .any)]
    static let options = [
        OptionSpec("ms", .double, required: true, range: 0...3_600_000, doc: "milliseconds per packet"),
        OptionSpec("jitter_ms", .double, default: 0, range: 0...3_600_000, doc: "add a uniform random 0..jitter_ms"),
    ]

    private let ms: Double
    private let jitter: Double

    init(options: Options, context: NodeContext) throws {
        ms = options.double("ms")!
        jitter = options.double("jitter_ms")!
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        let wait = ms + (jitter > 0 ? Double.random(in: 0...jitter) : 0)
        if wait > 0 { Thread.sleep(forTimeInterval: wait / 1000) }
        try output.emit(input.value)
    }
}
