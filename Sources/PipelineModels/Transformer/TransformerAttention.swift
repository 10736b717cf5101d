import Foundation
import PipelineTensor

/// Scaled dot-product attention on BLAS, shared by the encoders (BERT, ViT) and Whisper.
enum TransformerAttention {
    /// Query rows per block of `scaledDotProduct`: a block's scores stay in cache between the
    /// two products.
    static let queryBlock = 256

    /// Attention of `queries` query rows over `keys` key/value rows, per head:
    /// `out[q, h·d…] = softmax(Q_h K_hᵀ / √d) V_h`. Rows of q, k, v, out lie `ldq`, `ldk`, `ldv`,
    /// `ldo` apart; `scores` holds `min(queries, queryBlock) · keys` floats.
    static func scaledDotProduct(
        q: UnsafePointer<Float>, ldq: Int, k: UnsafePointer<Float>, ldk: Int, v: UnsafePointer<Float>, ldv: Int,
        queries: Int, keys: Int, heads: Int, headSize: Int, out: UnsafeMutablePointer<Float>, ldo: Int,
        scores: UnsafeMutablePointer<Float>
    ) {
        let scale = 1 / Float(headSize).squareRoot()
        for h in 0..<heads {
            let o = h * headSize
            if queries == 1 {
                // One query (a decoder step): the rows in place, no BLAS call (whose threads
                // would wake and yield for every step).
                EncoderOps.attentionOne(
                    q: q + o, k: k + o, ldk: ldk, v: v + o, ldv: ldv, keys: keys, d: headSize, scale: scale, out: out + o,
                    scratch: scores)
                continue
            }
            for first in stride(from: 0, to: queries, by: queryBlock) {
                let rows = min(queryBlock, queries - first)
                BLAS.gemmTransposedB(
                    m: rows, n: keys, k: headSize, alpha: scale, a: q + first * ldq + o, lda: ldq, b: k + o, ldb: ldk,
                    c: scores, ldc: keys)
                EncoderOps.softmaxRows(scores, rows: rows, cols: keys, ld: keys)
                BLAS.gemm(
                    m: rows, n: headSize, k: keys, a: scores, lda: keys, b: v + o, ldb: ldv, c: out + first * ldo + o,
                    ldc: ldo)
            }
        }
    }

    /// Query rows per task of `blockedScaledDotProduct`.
    static let taskRows = 64

    /// The scratch `blockedScaledDotProduct` needs: every head's keys transposed and values
    /// packed.
    static func blockedScratch(keys: Int, heads: Int, headSize: Int) -> Int {
        heads * (EncoderOps.packedKeyStride(keys: keys) * headSize + EncoderOps.packedValueCount(keys: keys, d: headSize))
    }

    /// The same attention as `scaledDotProduct` for long sequences (Whisper's 1500 frames),
    /// without BLAS: each head's keys are transposed and its values packed once into `scratch`
    /// (`blockedScratch(keys:heads:headSize:)` floats), then (head, `taskRows` query rows)
    /// tasks run on the worker pool, each on one thread computing its scores, softmax and
    /// values (EncoderOps.attentionRows) while they are in cache. One thread when OpenBLAS is
    /// given one.
    static func blockedScaledDotProduct(
        q: UnsafePointer<Float>, ldq: Int, k: UnsafePointer<Float>, ldk: Int, v: UnsafePointer<Float>, ldv: Int,
        queries: Int, keys: Int, heads: Int, headSize: Int, out: UnsafeMutablePointer<Float>, ldo: Int,
        scratch: UnsafeMutablePointer<Float>
    ) {
        let scale = 1 / Float(headSize).squareRoot()
        let ldkt = EncoderOps.packedKeyStride(keys: keys)
        let keyCount = ldkt * headSize, packed = keyCount + EncoderOps.packedValueCount(keys: keys, d: headSize)
        let run = BLAS.threads > 1 ? WorkerPool.run : { tasks, body in for t in 0..<tasks { body(t) } }
        run(heads) { h in
            EncoderOps.packKeysTransposed(k + h * headSize, ldk: ldk, keys: keys, d: headSize, into: scratch + h * packed, ldkt: ldkt)
            EncoderOps.packValues(v + h * headSize, ldv: ldv, keys: keys, d: headSize, into: scratch + h * packed + keyCount)
        }
        let blocks = (queries + taskRows - 1) / taskRows
        run(heads * blocks) { task in
            let h = task / blocks, first = task % blocks * taskRows, o = h * headSize
            let rowsScratch = UnsafeMutablePointer<Float>.allocate(capacity: EncoderOps.attentionScratch(ldkt: ldkt))
            defer { rowsScratch.deallocate() }
            EncoderOps.attentionRows(
                q: q + first * ldq + o, ldq: ldq, keysTransposed: scratch + h * packed, ldkt: ldkt,
                values: scratch + h * packed + keyCount, rows: min(taskRows, queries - first), keys: keys, d: headSize,
                scale: scale, out: out + first * ldo + o, ldo: ldo, scratch: rowsScratch)
        }
    }

    /// Self-attention over several sequences packed end to end: `qkv [rows, 3·width]` holds
    /// each row's fused Q | K | V; sequence `s` is rows `offsets[s] ..< offsets[s] + lengths[s]`
    /// and attends only to itself. Each head's context goes to its column block of
    /// `ctx [rows, width]`. Sequences run in parallel on the worker pool (the threads the linear
    /// layers' products run on, so no second pool wakes beside it), each on its own rows.
    static func packedSelfAttention(
        qkv: UnsafeMutablePointer<Float>, width: Int, heads: Int, into ctx: UnsafeMutablePointer<Float>,
        offsets: [Int], lengths: [Int]
    ) {
        let ld = 3 * width
        let longest = lengths.max() ?? 0
        WorkerPool.run(tasks: offsets.count) { s in
            let n = lengths[s]
            guard n > 0 else { return }
            let base = qkv + offsets[s] * ld
            withUnsafeTemporaryAllocation(of: Float.self, capacity: min(longest, queryBlock) * longest) { scores in
                scaledDotProduct(
                    q: base, ldq: ld, k: base + width, ldk: ld, v: base + 2 * width, ldv: ld, queries: n, keys: n,
                    heads: heads, headSize: width / heads, out: ctx + offsets[s] * width, ldo: width,
                    scores: scores.baseAddress!)
            }
        }
    }
}
