import COpenBLAS

/// Single-precision matrix products on OpenBLAS, for the dense layers of the encoders.
///
/// Matrices are row-major. Weights keep PyTorch's `[out, in]` layout, so a linear layer is
/// `y = x · wᵀ` and needs no transposed copy of the weights.
public enum BLAS {
    /// The number of threads OpenBLAS uses for one call.
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// Caps OpenBLAS's threads, so its pool does not fight the scheduler's workers for cores.
    public static func setThreads(_ n: Int) {
        openblas_set_num_threads(Int32(max(1, n)))
    }

    /// `c[m, n] = alpha · a[m, k] · b[n, k]ᵀ + beta · c`, with leading dimensions (row strides)
    /// `lda`, `ldb`, `ldc` so that column blocks of wider matrices can be used in place.
    @inlinable
    public static func gemmTransposedB(
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), alpha,
            a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `c[m, n] = alpha · a[m, k] · b[k, n] + beta · c`, row-major with leading dimensions.
    @inlinable
    public static func gemm(
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), alpha,
            a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `y[m] = alpha · a[m, n] · x[n] + beta · y` (row-major `a`, leading dimension `lda`), or
    /// with `transposed` `y[n] = alpha · a[m, n]ᵀ · x[m] + beta · y`. For one-row products: a
    /// gemv reads the matrix in place, where a one-row gemm packs all of it first.
    @inlinable
    public static func gemv(
        m: Int, n: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, x: UnsafePointer<Float>,
        beta: Float = 0, y: UnsafeMutablePointer<Float>, transposed: Bool = false
    ) {
        cblas_sgemv(
            CblasRowMajor, transposed ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), alpha, a, Int32(lda), x, 1, beta, y, 1)
    }
}
