import CKernels

/// A copy of a Q4_1, Q8_0 or Q4_K weight matrix with each block column of eight rows stored
/// together (CKernels quant_x8.c), so the matrix–vector kernels convert and scale eight rows'
/// block scales at once (and, for Q4_K, sum eight rows in the lanes of one vector, as
/// llama.cpp's repacked AVX2 GEMM does). Every output equals the one-row AVX2 dot product bit
/// for bit.
public final class RowGroups: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let columns: Int
    let data: UnsafeMutableRawPointer
    /// Bytes of one group of eight rows.
    let groupBytes: Int

    /// nil where the type has no eight-row layout, the shape does not fit it, or the kernel path
    /// (`ISA.current`) is portable.
    /// `copied` is called with each stretch of the source once it has been copied.
    public init?(type: GGMLType, rows source: UnsafeRawPointer, rowBytes: Int, count: Int, columns: Int,
                 copied: (UnsafeRawBufferPointer) -> Void = { _ in }) {
        let blockBytes = Int(pl_x8_block_bytes(Int32(type.rawValue)))
        guard blockBytes > 0, count % 8 == 0, columns % (type == .q4_K ? 256 : 32) == 0, ISA.current != .portable else {
            return nil
        }
        self.type = type
        rows = count
        self.columns = columns
        groupBytes = columns / 32 * blockBytes
        data = UnsafeMutableRawPointer.allocate(byteCount: count / 8 * groupBytes, alignment: 64)
        let chunk = 1024  // rows, a multiple of 8
        for first in stride(from: 0, to: count, by: chunk) {
            let rows = min(chunk, count - first)
            pl_repack_x8(Int32(type.rawValue), source + first * rowBytes, Int32(rowBytes), Int32(rows), Int32(columns),
                         data + first / 8 * groupBytes)
            copied(UnsafeRawBufferPointer(start: source + first * rowBytes, count: rows * rowBytes))
        }
    }

    deinit { data.deallocate() }

    /// out[c * outputStride + r - rows.lowerBound] for r in `rows` and `columns` activation
    /// vectors `stride` bytes apart. False (nothing written) when `rows` is not cut on groups
    /// of eight or the kernels are forced portable on this thread.
    public func multiply(rows range: Range<Int>, _ activations: UnsafeRawPointer, stride: Int, columns count: Int,
                         into out: UnsafeMutablePointer<Float>, outputStride: Int) -> Bool {
        guard range.lowerBound % 8 == 0, range.count % 8 == 0, range.upperBound <= rows else { return false }
        return pl_matvec_x8(Int32(type.rawValue), data + range.lowerBound / 8 * groupBytes, Int32(range.count / 8),
                            activations, Int32(stride), Int32(count), Int32(columns), out, Int32(outputStride)) != 0
    }
}
