import COpenBLAS

/// Singular value decomposition on OpenBLAS's LAPACK (`dgesdd`, double precision).
public enum SingularValues {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// `U · diag(f(σ)) · Vᵀ` for the row-major `rows` x `cols` matrix `a = U · diag(σ) · Vᵀ`:
    /// the singular vectors kept, the singular values (descending, `min(rows, cols)` of them)
    /// mapped by `transform`. Applying a function to the singular values commutes with
    /// transposition, so LAPACK's column-major view of the buffer (the transpose) gives the
    /// row-major answer directly.
    public static func map(_ a: [Double], rows: Int, cols: Int, _ transform: ([Double]) -> [Double]) throws -> [Double] {
        guard rows > 0, cols > 0, a.count == rows * cols else {
            throw Failure(description: "svd: \(a.count) values for a \(rows) x \(cols) matrix")
        }
        // Column-major m x n = the transpose of the row-major matrix.
        var m = Int32(cols), n = Int32(rows)
        let k = Int(min(m, n))
        var work = a
        var s = [Double](repeating: 0, count: k)
        var u = [Double](repeating: 0, count: Int(m) * k)
        var vt = [Double](repeating: 0, count: k * Int(n))
        var lda = m, ldu = m, ldvt = Int32(k)
        var iwork = [Int32](repeating: 0, count: 8 * k)
        var info: Int32 = 0
        var query = 0.0
        var lwork: Int32 = -1
        dgesdd_("S", &m, &n, &work, &lda, &s, &u, &ldu, &vt, &ldvt, &query, &lwork, &iwork, &info, 1)
        guard info == 0 else { throw Failure(description: "svd: dgesdd workspace query failed (info \(info))") }
        lwork = Int32(query)
        var scratch = [Double](repeating: 0, count: Int(lwork))
        dgesdd_("S", &m, &n, &work, &lda, &s, &u, &ldu, &vt, &ldvt, &scratch, &lwork, &iwork, &info, 1)
        guard info == 0 else { throw Failure(description: "svd: dgesdd failed (info \(info))") }
        let mapped = transform(s)
        guard mapped.count == k else { throw Failure(description: "svd: transform gave \(mapped.count) values for \(k)") }
        // U · diag(mapped): scale U's columns (column-major, column j at j·m).
        for j in 0..<k {
            for i in 0..<Int(m) { u[j * Int(m) + i] *= mapped[j] }
        }
        var out = [Double](repeating: 0, count: rows * cols)
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, m, n, Int32(k), 1, u, m, vt, Int32(k), 0, &out, m)
        return out
    }
}
