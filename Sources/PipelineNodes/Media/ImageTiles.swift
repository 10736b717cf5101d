import PipelineCore
import PipelineMedia

/// Cuts an image into a grid of square tiles plus a global thumbnail (InternVL / LLaVA-UHD style).
///
/// The grid (columns × rows, between `min_tiles` and `max_tiles` tiles) is the one whose
/// aspect ratio is closest to the image's; the image is stretched to it and cut row by row.
/// Each tile is one packet; the thumbnail, when there is more than one tile, comes last.
final class ImageTiles: PipelineNode {
    static let type = "image.tiles"
    static let summary = "Cuts an image into square tiles on the grid closest to its aspect ratio, plus a thumbnail."
    static let inputs = [PortSpec("image", .image)]
    static let outputs = [
        PortSpec("tile", .image,
            doc: "one packet per tile, row-major, then the thumbnail; `tile` {index, row, column, columns, rows} in the payload; sequence = input sequence × (max_tiles + 1) + index"),
    ]
    static let options = [
        OptionSpec("tile_size", .int, default: 448, range: 1...8192, doc: "edge of each square tile in pixels"),
        OptionSpec("min_tiles", .int, default: 1, range: 1...256, doc: "fewest tiles"),
        OptionSpec("max_tiles", .int, default: 12, range: 1...256, doc: "most tiles"),
        OptionSpec("thumbnail", .bool, default: true, doc: "append a tile_size² view of the whole image when there is more than one tile"),
        OptionSpec("algorithm", .choice(MediaSupport.algorithms), default: "bicubic", doc: "swscale interpolation"),
    ]
    static let example = """
        - id: tiles
          type: image.tiles
          inputs: { image: img.image }
          with: { tile_size: 448, max_tiles: 6 }
        """

    private let tiler: ImageTiler

    init(options: Options, context: NodeContext) throws {
        let minTiles = options.int("min_tiles")!, maxTiles = options.int("max_tiles")!
        guard minTiles <= maxTiles else { throw NodeError("min_tiles \(minTiles) is above max_tiles \(maxTiles)") }
        tiler = ImageTiler(tileSize: options.int("tile_size")!, minTiles: minTiles, maxTiles: maxTiles,
                           thumbnail: options.bool("thumbnail")!, algorithm: MediaSupport.algorithm(options.string("algorithm")!))
    }

    func process(_ input: NodeInput, _ output: NodeOutput) throws {
        let payload = try MediaSupport.image(input)
        let tiling = try MediaSupport.attempt(payload.path) { try tiler.tile(payload.image) }
        let base = input.sequence * (tiler.maxTiles + 1)
        for (index, tile) in tiling.tiles.enumerated() {
            var out = payload
            out.image = tile
            out.tile = TilePosition(index: index, row: index / tiling.columns, column: index % tiling.columns,
                                    columns: tiling.columns, rows: tiling.rows)
            try output.emit(.payload(out), sequence: base + index)
        }
        if let thumbnail = tiling.thumbnail {
            var out = payload
            out.image = thumbnail
            let index = tiling.tiles.count
            out.tile = TilePosition(index: index, row: nil, column: nil, columns: tiling.columns, rows: tiling.rows)
            try output.emit(.payload(out), sequence: base + index)
        }
    }
}
