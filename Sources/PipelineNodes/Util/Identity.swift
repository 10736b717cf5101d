import PipelineCore

/// Passes packets through unchanged (a junction, a place to change queue policy).
final class Identity: PipelineNode {
    static let type = "util.identity"
    static let summary = "Passes every packet through unchanged."
    static let inputs = [PortSpec("in", .any)]
    static let outputs = [PortSpec("out", .any)]
    static let options: [OptionSpec] = []

    init(options: Options, context: NodeContext) throws {}

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        try output.emit(input.value)
    }
}
