import PipelineTensor

/// A module that maps an encoder's tokens into a language model's embedding space: the
/// prefix vectors `llm.generate` feeds before (or inside) the prompt.
public protocol FusionConnector: Sendable {
    /// The file the weights came from.
    var path: String { get }
    /// The width of the tokens it reads.
    var inputWidth: Int { get }
    /// The width of the vectors it writes (the language model's embedding width).
    var outputWidth: Int { get }
    /// The shape of the weight that fixes `inputWidth`, for error messages (`[out, in]`).
    var inputWeightShape: [Int] { get }
    /// The shape of the weight that fixes `outputWidth`, for error messages (`[out, in]`).
    var outputWeightShape: [Int] { get }
    /// How many vectors `count` tokens become.
    func outputCount(tokens count: Int) -> Int
    /// `tokens [count, inputWidth]` row-major -> `[outputCount(count), outputWidth]` row-major.
    func callAsFunction(_ tokens: [Float], count: Int) throws -> [Float]
}

extension FusionConnector {
    /// Checks a token matrix against the connector's input width.
    func checkTokens(_ tokens: [Float], count: Int) throws {
        guard count > 0, count <= 1 << 20 else { throw FusionError.badTokens(reason: "\(count) tokens") }
        guard tokens.count == count * inputWidth else {
            throw FusionError.tokenWidth(
                path: path, weights: inputWeightShape, tokens: [count, tokens.count / max(count, 1)], source: "the input")
        }
    }

    /// The error for a language model of another width, or nil when the widths agree.
    public func widthProblem(model: String, width: Int) -> FusionError? {
        width == outputWidth ? nil : .modelWidth(path: path, weights: outputWeightShape, model: model, width: width)
    }

    /// The error for tokens of another width, or nil when the widths agree.
    public func tokenProblem(source: String, width: Int) -> FusionError? {
        width == inputWidth ? nil : .tokenWidth(path: path, weights: inputWeightShape, tokens: [-1, width], source: source)
    }
}

/// A connector's learned per-token vectors (`position [n, width]` in its file): row i is added to
/// token i's row (the projector's outputs, the resampler's projected inputs), saying which cell
/// of the encoder's map it came from. A connector with them takes exactly n tokens.
struct LearnedPositions: Sendable {
    let values: [Float]
    /// n: how many tokens they cover.
    let count: Int

    /// The file's `position`, which must be `[n, width]`, or nil when it has none; `expected`
    /// says in the error where `width` comes from.
    init?(_ file: SafetensorsFile, width: Int, expected: String) throws {
        guard let p = file.tensors["position"] else { return nil }
        guard p.shape.count == 2, p.shape[0] > 0, p.shape[1] == width else {
            throw FusionError.badWeights(path: file.path, reason: "position \(p.shape) must be [count, \(width)] (\(expected))")
        }
        values = try file.floats("position", shape: p.shape)
        count = p.shape[0]
    }

    /// The error for `tokens` tokens when they are not `count`.
    func check(tokens: Int, connector: String, path: String) throws {
        guard tokens != count else { return }
        throw FusionError.badTokens(reason: "\(path): the \(connector) has learned positions for \(count) tokens (position [\(count), \(values.count / count)]) but the input has \(tokens) tokens (an image of another size?)")
    }

    /// x[i] += values[i] over the `count` rows.
    func add(to x: inout [Float]) {
        for i in x.indices { x[i] += values[i] }
    }
}
