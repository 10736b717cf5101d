/// Cholesky factorization and triangular solves in Double, for the heads' small dense systems
/// (RanPAC's ridge solve, the shared covariance of nearest class mean's Mahalanobis metric).
enum Cholesky {
    /// `L` (lower, row-major `n × n`) with `L·Lᵀ = A + λI`, where `A` is given by its upper
    /// triangle (row-major; the lower half is not read). A pivot that is not positive (a
    /// matrix that is not positive definite in Double) is set to 1e-150 instead of failing.
    static func factor(upper a: [Double], n: Int, lambda: Double) -> [Double] {
        var l = [Double](repeating: 0, count: n * n)
        l.withUnsafeMutableBufferPointer { lp in
            a.withUnsafeBufferPointer { g in
                for j in 0..<n {
                    let rj = j * n
                    var d = g[rj + j] + lambda
                    for t in 0..<j { d -= lp[rj + t] * lp[rj + t] }
                    let diag = d > 0 ? d.squareRoot() : 1e-150
                    lp[rj + j] = diag
                    for i in (j + 1)..<max(n, j + 1) {
                        let ri = i * n
                        var s = g[rj + i]  // A[j][i] = A[i][j] (upper triangle)
                        for t in 0..<j { s -= lp[ri + t] * lp[rj + t] }
                        lp[ri + j] = s / diag
                    }
                }
            }
        }
        return l
    }

    /// `y` with `L·y = b` (forward substitution).
    static func forward(_ l: [Double], n: Int, _ b: [Double]) -> [Double] {
        var y = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var s = b[i]
            for t in 0..<i { s -= l[i * n + t] * y[t] }
            y[i] = s / l[i * n + i]
        }
        return y
    }

    /// `x` with `Lᵀ·x = y` (backward substitution).
    static func backward(_ l: [Double], n: Int, _ y: [Double]) -> [Double] {
        var x = [Double](repeating: 0, count: n)
        for i in stride(from: n - 1, through: 0, by: -1) {
            var s = y[i]
            for t in (i + 1)..<max(n, i + 1) { s -= l[t * n + i] * x[t] }
            x[i] = s / l[i * n + i]
        }
        return x
    }

    /// Adds `x·xᵀ` to the upper triangle of the row-major `n × n` matrix `a` (zeros skipped).
    static func addOuter(_ x: [Double], to a: inout [Double], n: Int) {
        let nonzero = x.indices.filter { x[$0] != 0 }
        a.withUnsafeMutableBufferPointer { g in
            for p in nonzero {
                let xp = x[p]
                let row = p * n
                for q in nonzero where q >= p { g[row + q] += xp * x[q] }
            }
        }
    }
}
