import PipelineTensor

/// LLaVA's `mlp2x_gelu` connector: every token goes through Linear(in → width), the exact
/// (erf) GELU and Linear(width → width); `count` tokens give `count` vectors. With a `position`
/// tensor, token i's vector also gets learned row i added (which cell of the encoder's map it
/// came from); such a projector takes exactly that many tokens.
///
/// safetensors names (PyTorch layout, float32): `fc1.weight [width, in]`, `fc1.bias [width]`,
/// `fc2.weight [width, width]`, `fc2.bias [width]`, optional `position [count, width]` —
/// `scripts/fusion/fusion_common.py`'s `Projector` state dict. The widths come from the file.
public struct FusionProjector: FusionConnector {
    public let path: String
    let fc1: TransformerLinear
    let fc2: TransformerLinear
    /// Learned per-position vectors `[positions, outputWidth]`, or nil.
    let position: LearnedPositions?
    /// How many tokens the learned positions cover (0 without them).
    public var positions: Int { position?.count ?? 0 }

    public var inputWidth: Int { fc1.inFeatures }
    public var outputWidth: Int { fc2.outFeatures }
    public var inputWeightShape: [Int] { [fc1.outFeatures, fc1.inFeatures] }
    public var outputWeightShape: [Int] { [fc2.outFeatures, fc2.inFeatures] }

    public init(path: String) throws {
        let file = try SafetensorsFile(path: path)
        self.path = path
        guard let w1 = file.tensors["fc1.weight"], w1.shape.count == 2, let w2 = file.tensors["fc2.weight"], w2.shape.count == 2 else {
            throw FusionError.badWeights(path: path, reason: "a projector needs 2-d fc1.weight and fc2.weight (found: \(file.tensors.keys.sorted().prefix(8).joined(separator: ", ")))")
        }
        guard w2.shape[1] == w1.shape[0] else {
            throw FusionError.badWeights(path: path, reason: "fc2.weight \(w2.shape) does not take fc1.weight \(w1.shape)'s \(w1.shape[0]) outputs")
        }
        fc1 = try TransformerLinear(file, "fc1", out: w1.shape[0], in: w1.shape[1])
        fc2 = try TransformerLinear(file, "fc2", out: w2.shape[0], in: w2.shape[1])
        position = try LearnedPositions(file, width: w2.shape[0], expected: "fc2.weight \(w2.shape)'s outputs")
    }

    public func outputCount(tokens count: Int) -> Int { count }

    public func callAsFunction(_ tokens: [Float], count: Int) throws -> [Float] {
        try checkTokens(tokens, count: count)
        try position?.check(tokens: count, connector: "projector", path: path)
        var hidden = [Float](repeating: 0, count: count * fc1.outFeatures)
        var out = [Float](repeating: 0, count: count * outputWidth)
        tokens.withUnsafeBufferPointer { x in
            hidden.withUnsafeMutableBufferPointer { h in
                fc1.applyGELU(x.baseAddress!, rows: count, into: h.baseAddress!)
                out.withUnsafeMutableBufferPointer { y in fc2.apply(h.baseAddress!, rows: count, into: y.baseAddress!) }
            }
        }
        position?.add(to: &out)
        return out
    }
}
