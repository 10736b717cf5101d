import PipelineTensor

/// LayerNorm over the last dimension with learned scale (`name.weight`) and shift (`name.bias`).
struct TransformerLayerNorm: Sendable {
    let gamma: [Float]
    let beta: [Float]
    let eps: Float

    init(_ file: SafetensorsFile, _ name: String, size: Int, eps: Float) throws {
        gamma = try file.floats(name + ".weight", shape: [size])
        beta = try file.floats(name + ".bias", shape: [size])
        self.eps = eps
    }

    /// Normalizes `rows` rows of `x` in place.
    func apply(_ x: UnsafeMutablePointer<Float>, rows: Int) {
        gamma.withUnsafeBufferPointer { g in
            beta.withUnsafeBufferPointer { b in
                EncoderOps.layerNorm(x, rows: rows, cols: g.count, gamma: g.baseAddress!, beta: b.baseAddress!, eps: eps)
            }
        }
    }

    /// Normalizes `rows` rows of `x` into `y`, leaving `x` as it was (pre-norm blocks keep the residual).
    func apply(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        y.update(from: x, count: rows * gamma.count)
        apply(y, rows: rows)
    }
}
