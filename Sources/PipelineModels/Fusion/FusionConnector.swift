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
