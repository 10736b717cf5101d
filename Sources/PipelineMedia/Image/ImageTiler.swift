/// High-resolution tiling as InternVL's `dynamic_preprocess` (and LLaVA-UHD's slicing) do.
///
/// A grid (columns × rows) is chosen among all grids with
/// `minTiles ≤ columns·rows ≤ maxTiles` whose aspect ratio is closest to the
/// image's; on a tie the larger grid wins when the image has more than half
/// the pixels of that grid (InternVL's rule). The image is stretched to
/// `columns·tileSize × rows·tileSize`, cut into row-major tiles, and, when
/// there is more than one tile and `thumbnail` is set, a `tileSize²` resize
/// of the whole image is appended as the global view.
public struct ImageTiler: Sendable {
    /// Edge of each square tile (the encoder's input size, e.g. 448 or 336).
    public var tileSize: Int
    /// Fewest tiles.
    public var minTiles: Int
    /// Most tiles.
    public var maxTiles: Int
    /// Append the global thumbnail when the grid has more than one tile.
    public var thumbnail: Bool
    /// Interpolation for the resizes.
    public var algorithm: ScaleAlgorithm

    /// Creates a tiler; defaults follow InternVL (448, 1…12 tiles, thumbnail on).
    public init(tileSize: Int = 448, minTiles: Int = 1, maxTiles: Int = 12, thumbnail: Bool = true,
                algorithm: ScaleAlgorithm = .bicubic) {
        self.tileSize = tileSize
        self.minTiles = minTiles
        self.maxTiles = maxTiles
        self.thumbnail = thumbnail
        self.algorithm = algorithm
    }

    /// The result of tiling.
    public struct Tiling: Sendable {
        /// Grid columns.
        public var columns: Int
        /// Grid rows.
        public var rows: Int
        /// Row-major tiles, `columns * rows` of them.
        public var tiles: [Image]
        /// The global view, when requested and the grid has more than one tile.
        public var thumbnail: Image?
    }

    /// The grid InternVL would pick for an image of `width`×`height`.
    public func grid(width: Int, height: Int) -> (columns: Int, rows: Int) {
        var ratios: [(Int, Int)] = []
        for i in 1...max(1, maxTiles) {
            for j in 1...max(1, maxTiles) where i * j >= minTiles && i * j <= maxTiles {
                ratios.append((i, j))
            }
        }
        ratios.sort { ($0.0 * $0.1, $0.0, $0.1) < ($1.0 * $1.1, $1.0, $1.1) }
        let aspect = Double(width) / Double(height)
        let area = Double(width * height)
        var bestDiff = Double.infinity
        var best = (1, 1)
        for (i, j) in ratios {
            let diff = abs(aspect - Double(i) / Double(j))
            if diff < bestDiff {
                bestDiff = diff
                best = (i, j)
            } else if diff == bestDiff, area > 0.5 * Double(tileSize * tileSize * i * j) {
                best = (i, j)
            }
        }
        return best
    }

    /// Cuts `image` into tiles.
    public func tile(_ image: Image) throws -> Tiling {
        guard tileSize > 0, minTiles >= 1, maxTiles >= minTiles else {
            throw MediaError.invalidArgument("tiler tileSize \(tileSize) tiles \(minTiles)...\(maxTiles)")
        }
        let (cols, rows) = grid(width: image.width, height: image.height)
        let big = try image.scaled(width: cols * tileSize, height: rows * tileSize, algorithm: algorithm)
        var tiles: [Image] = []
        tiles.reserveCapacity(cols * rows)
        for r in 0..<rows {
            for c in 0..<cols {
                tiles.append(big.cropped(x: c * tileSize, y: r * tileSize, width: tileSize, height: tileSize))
            }
        }
        let thumb = (thumbnail && tiles.count > 1)
            ? try image.scaled(width: tileSize, height: tileSize, algorithm: algorithm) : nil
        return Tiling(columns: cols, rows: rows, tiles: tiles, thumbnail: thumb)
    }
}
