import CKernels

/// A linear layer's weight `[out, in]` (PyTorch's layout) rounded to bfloat16 and packed for
/// the AVX512_BF16 product (CKernels' bf16_gemm.c): `y = x · wᵀ` with x rounded to bfloat16
/// too and every product summed in float32, about twice sgemm's rate on Zen 4.
///
/// The product runs only where `isActive` (the AVX-512 path on a CPU with AVX512_BF16); the
/// caller keeps the float weight and uses sgemm elsewhere, so `--isa avx2` stays pure AVX2.
/// Each output row depends only on its input row, so a batch gives every text bit for bit the
/// rows it gets alone.
public struct BF16Weight: Sendable {
    /// Rows per task: a task rounds its rows of x to bfloat16 and multiplies them while they are
    /// in cache.
    public static let taskRows = 64

    let packed: [UInt16]
    public let outFeatures: Int
    public let inFeatures: Int

    /// Whether this CPU runs the product at all (what packing a weight is worth).
    public static var isSupported: Bool { pl_bf16_gemm_cpu() != 0 }

    /// Whether the product runs on the calling thread's kernel path.
    public static var isActive: Bool { pl_bf16_gemm_active() != 0 }

    /// Rounds and packs `weight`, `outFeatures · inFeatures` floats row-major.
    public init(_ weight: [Float], outFeatures: Int, inFeatures: Int) {
        precondition(weight.count == outFeatures * inFeatures, "BF16Weight: \(weight.count) floats for [\(outFeatures), \(inFeatures)]")
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        packed = [UInt16](unsafeUninitializedCapacity: pl_bf16_packed_count(Int32(outFeatures), Int32(inFeatures))) { buffer, count in
            weight.withUnsafeBufferPointer {
                pl_bf16_pack_weights($0.baseAddress!, Int32(outFeatures), Int32(inFeatures), buffer.baseAddress!)
            }
            count = buffer.count
        }
    }

    /// `y[rows, out] = x[rows, in] · wᵀ`, plus what `y` held when `accumulate`, in tasks of
    /// `taskRows` rows on the worker pool; each task then calls `finish(first, count)` on its
    /// rows `first ..< first + count` of y while they are in cache (bias, activation, norm).
    /// Only where `isActive`.
    public func product(
        _ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool,
        finish: (_ first: Int, _ count: Int) -> Void = { _, _ in }
    ) {
        let (n, k) = (outFeatures, inFeatures)
        let lda = (k + 1) / 2 * 2
        let tasks = (rows + Self.taskRows - 1) / Self.taskRows
        packed.withUnsafeBufferPointer { wp in
            WorkerPool.run(tasks: tasks) { task in
                let first = task * Self.taskRows, count = min(Self.taskRows, rows - first)
                withUnsafeTemporaryAllocation(byteCount: count * lda * 2, alignment: 64) { raw in
                    let a = raw.baseAddress!.assumingMemoryBound(to: UInt16.self)
                    pl_bf16_round_rows(x + first * k, k, Int32(count), Int32(k), a, lda)
                    _ = pl_gemm_bf16_avx512(
                        a, lda, Int32(count), wp.baseAddress!, Int32(n), Int32(k), y + first * n, n,
                        accumulate ? 1 : 0)
                }
                finish(first, count)
            }
        }
    }
}
