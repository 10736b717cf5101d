/// Resizes the patch position embeddings of a ViT to another grid, as torchvision does when
/// it loads weights for another image size (`interpolate_embeddings`): the `[grid, grid]`
/// map of each channel is resized with bicubic interpolation, `align_corners=True`, PyTorch's
/// cubic convolution (a = −0.75) with edge pixels repeated. torchvision only makes square
/// grids; the same call with a `[rows, cols]` target gives rectangles. (timm resizes with
/// `align_corners=False` and antialiasing instead; weights trained with timm can differ
/// slightly at sizes they were not trained at.)
enum ViTPositions {
    /// `source [grid · grid, width]` (row-major patches) resized to `[rows · cols, width]`.
    static func resize(_ source: ArraySlice<Float>, grid: Int, width: Int, rows: Int, cols: Int) -> [Float] {
        if rows == grid && cols == grid { return Array(source) }
        let base = source.startIndex
        let ys = taps(from: grid, to: rows), xs = taps(from: grid, to: cols)
        var out = [Float](repeating: 0, count: rows * cols * width)
        var column = [Float](repeating: 0, count: width)
        for oy in 0..<rows {
            for ox in 0..<cols {
                // Each of the four source rows interpolated along x, then those along y, in
                // the order PyTorch's CPU kernel sums them.
                var acc = [Float](repeating: 0, count: width)
                for i in 0..<4 {
                    let sy = ys[oy].index[i]
                    for c in 0..<width { column[c] = 0 }
                    for j in 0..<4 {
                        let wx = xs[ox].weight[j], at = base + (sy * grid + xs[ox].index[j]) * width
                        for c in 0..<width { column[c] += wx * source[at + c] }
                    }
                    let wy = ys[oy].weight[i]
                    for c in 0..<width { acc[c] += wy * column[c] }
                }
                let o = (oy * cols + ox) * width
                for c in 0..<width { out[o + c] = acc[c] }
            }
        }
        return out
    }

    /// For each output coordinate, the four source indices (clamped to the edge) and weights.
    static func taps(from size: Int, to outSize: Int) -> [(index: [Int], weight: [Float])] {
        let scale: Float = outSize > 1 ? Float(size - 1) / Float(outSize - 1) : 0
        return (0..<outSize).map { o in
            let real = scale * Float(o)
            let start = Int(real.rounded(.down))
            let t = real - Float(start)
            let index = (-1...2).map { min(max(start + $0, 0), size - 1) }
            return (index, cubicWeights(t))
        }
    }

    /// PyTorch's `get_cubic_upsample_coefficients` for fraction `t`, a = −0.75.
    static func cubicWeights(_ t: Float) -> [Float] {
        let a: Float = -0.75
        func near(_ x: Float) -> Float { ((a + 2) * x - (a + 3)) * x * x + 1 }
        func far(_ x: Float) -> Float { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
        return [far(t + 1), near(t), near(1 - t), far(2 - t)]
    }
}
