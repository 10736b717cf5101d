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
        gram.withUnsafeMutableBufferPointer { g in
            for a in nonzero {
                let ha = h[a]
                let row = a * m
                for b in nonzero where b >= a { g[row + b] += ha * h[b] }
            }
        }
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
        // L (lower, row-major) with L·Lᵀ = G + λI, from G's upper triangle.
        var l = [Double](repeating: 0, count: m * m)
        l.withUnsafeMutableBufferPointer { lp in
            gram.withUnsafeBufferPointer { g in
                for j in 0..<m {
                    let rj = j * m
                    var d = g[rj + j] + lambda
                    for t in 0..<j { d -= lp[rj + t] * lp[rj + t] }
                    let diag = d > 0 ? d.squareRoot() : 1e-150
                    lp[rj + j] = diag
                    for i in (j + 1)..<max(m, j + 1) {
                        let ri = i * m
                        var s = g[rj + i]  // G[j][i] = G[i][j] (upper triangle)
                        for t in 0..<j { s -= lp[ri + t] * lp[rj + t] }
                        lp[ri + j] = s / diag
                    }
                }
            }
        }
        // Forward then backward substitution for every class column.
        var w = [Double](repeating: 0, count: m * k)
        for (c, label) in classes.enumerated() {
            let b = classSums[label]!
            var y = [Double](repeating: 0, count: m)
            for i in 0..<m {
                var s = b[i]
                for t in 0..<i { s -= l[i * m + t] * y[t] }
                y[i] = s / l[i * m + i]
            }
            for i in stride(from: m - 1, through: 0, by: -1) {
                var s = y[i]
                for t in (i + 1)..<max(m, i + 1) { s -= l[t * m + i] * w[t * k + c] }
                w[i * k + c] = s / l[i * m + i]
            }
        }
        return (classes, w)
    }
}
