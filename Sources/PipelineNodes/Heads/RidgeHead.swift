/// RanPAC's incremental ridge head on randomly projected features.
///
/// Keeps the Gram matrix `G = Σ h·hᵀ` (upper triangle, Double) and each class's sum of `h`,
/// both updated one example at a time; a prediction solves
/// `(G + λI)·W = C` (Cholesky, Double) for the `[M, classes]` weights `W` and scores a query by
/// `hᵀ·W`. The solve is redone only after the head changed. `λ = ridge · trace(G) / M`, i.e. a
/// fraction of the mean diagonal, so the default is independent of the features' scale.
public struct RidgeHead: Sendable {
    public let projection: RandomProjection
    public let ridge: Double
    public private(set) var gram: [Double]
    public private(set) var classSums: [String: [Double]] = [:]
    private var solved: (classes: [String], weights: [Double])?

    public var width: Int { projection.outputs }

    public init(projection: RandomProjection, ridge: Double) {
        self.projection = projection
        self.ridge = ridge
        gram = [Double](repeating: 0, count: projection.outputs * projection.outputs)
    }

    /// Adds one example of class `label`.
    public mutating func add(_ x: [Float], label: String) {
        let h = projection.apply(x)
        let m = width
        let nonzero = h.indices.filter { h[$0] != 0 }
        Cholesky.addOuter(h, to: &gram, n: m)
        var sum = classSums[label] ?? [Double](repeating: 0, count: m)
        for a in nonzero { sum[a] += h[a] }
        classSums[label] = sum
        solved = nil
    }

    /// `λ` for the current Gram matrix.
    public var lambda: Double {
        var trace = 0.0
        for i in 0..<width { trace += gram[i * width + i] }
        return max(ridge * trace / Double(width), 1e-12)
    }

    /// Scores of every class for `x` (classes sorted by name).
    public mutating func scores(_ x: [Float]) -> [(label: String, score: Double)] {
        if solved == nil { solved = solve() }
        guard let solved, !solved.classes.isEmpty else { return [] }
        let h = projection.apply(x)
        let k = solved.classes.count
        var out = [Double](repeating: 0, count: k)
        for a in 0..<width where h[a] != 0 {
            for c in 0..<k { out[c] += h[a] * solved.weights[a * k + c] }
        }
        return zip(solved.classes, out).map { ($0, $1) }
    }

    /// Solves `(G + λI)·W = C` by Cholesky; `W` is `[M, classes]`, row-major.
    private func solve() -> (classes: [String], weights: [Double]) {
        let m = width
        let classes = classSums.keys.sorted()
        let k = classes.count
        let lambda = self.lambda
        let l = Cholesky.factor(upper: gram, n: m, lambda: lambda)
        // Forward then backward substitution for every class column.
        var w = [Double](repeating: 0, count: m * k)
        for (c, label) in classes.enumerated() {
            let column = Cholesky.backward(l, n: m, Cholesky.forward(l, n: m, classSums[label]!))
            for i in 0..<m { w[i * k + c] = column[i] }
        }
        return (classes, w)
    }
}
