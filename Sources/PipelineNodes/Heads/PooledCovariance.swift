/// The classes' shared (pooled within-class) covariance, for nearest class mean's Mahalanobis
/// metric (linear discriminant analysis with one covariance for all classes, as streaming LDA
/// and FeCAM use on frozen features).
///
/// Keeps `G = Σ x·xᵀ` over every example (upper triangle, Double), updated one example at a
/// time; with the class sums `s_c` and counts `n_c` the within-class scatter is
/// `S_w = G − Σ_c s_c·s_cᵀ / n_c`, the covariance `S = S_w / max(N − C, 1)`, shrunk toward its
/// mean diagonal: `S + λI` with `λ = shrink · trace(S) / d` (λ = 1 while `S` is zero, e.g. one
/// example per class: the metric is then Euclidean). A query `x` scores `−‖L⁻¹(x − μ_c)‖` per
/// class, `L·Lᵀ = S + λI`; the factor and the whitened means are redone only after a change.
public struct PooledCovariance: Sendable {
    public let dimension: Int
    public let shrink: Double
    public private(set) var gram: [Double]
    private var solved: (labels: [String], whitenedMeans: [[Double]], factor: [Double])?

    public init(dimension: Int, shrink: Double) {
        self.dimension = dimension
        self.shrink = shrink
        gram = [Double](repeating: 0, count: dimension * dimension)
    }

    /// Adds one example's `x·xᵀ`.
    public mutating func add(_ x: [Float]) {
        Cholesky.addOuter(x.map(Double.init), to: &gram, n: dimension)
        solved = nil
    }

    /// The negative Mahalanobis distance of `x` to each class mean; `classes` are the class
    /// sums (rounded to Double) and counts, in any order.
    public mutating func scores(_ x: [Float], classes: [(label: String, sum: [Double], count: Int)]) -> [(String, Double)] {
        if solved == nil { solved = solve(classes) }
        guard let solved else { return [] }
        let z = Cholesky.forward(solved.factor, n: dimension, x.map(Double.init))
        return zip(solved.labels, solved.whitenedMeans).map { label, m in
            var d2 = 0.0
            for i in 0..<dimension {
                let diff = z[i] - m[i]
                d2 += diff * diff
            }
            return (label, -d2.squareRoot())
        }
    }

    /// The covariance's `λ` and its factor, and every class mean whitened by it.
    private func solve(_ classes: [(label: String, sum: [Double], count: Int)]) -> (labels: [String], whitenedMeans: [[Double]], factor: [Double]) {
        let d = dimension
        var scatter = gram
        var examples = 0
        for c in classes where c.count > 0 {
            examples += c.count
            let n = Double(c.count)
            scatter.withUnsafeMutableBufferPointer { s in
                for p in 0..<d where c.sum[p] != 0 {
                    let sp = c.sum[p] / n
                    let row = p * d
                    for q in p..<d { s[row + q] -= sp * c.sum[q] }
                }
            }
        }
        let dof = Double(max(examples - classes.count, 1))
        var trace = 0.0
        for p in 0..<d {
            let row = p * d
            for q in p..<d { scatter[row + q] /= dof }
            trace += scatter[row + p]
        }
        let lambda = trace > 0 ? shrink * trace / Double(d) : 1
        let factor = Cholesky.factor(upper: scatter, n: d, lambda: lambda)
        let means = classes.map { c in Cholesky.forward(factor, n: d, c.sum.map { $0 / Double(max(c.count, 1)) }) }
        return (classes.map(\.label), means, factor)
    }
}
