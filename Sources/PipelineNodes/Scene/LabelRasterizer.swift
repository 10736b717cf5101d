import PipelineMedia

/// Draws a label as an RGBA image (dark text on a light rounded panel) from `LabelFont`,
/// for a sprite texture: a static three.js file cannot carry text drawn by the page.
///
/// Printable ASCII is drawn as is; any other character becomes `?`; a newline starts a new line
/// (at most `maxLines`). Lines longer than `maxCharacters` are cut and end in `...` (the record
/// itself keeps the whole text).
enum LabelRasterizer {
    static let maxCharacters = 40
    static let maxLines = 6
    static let padding = 6

    /// The text as drawn (ASCII, cut to `maxCharacters`).
    static func displayText(_ text: String) -> [UInt32] {
        var scalars = text.unicodeScalars.map { s -> UInt32 in
            (LabelFont.firstCharacter...LabelFont.lastCharacter).contains(s.value) ? s.value : 63
        }
        if scalars.count > maxCharacters { scalars = Array(scalars.prefix(maxCharacters - 3)) + [46, 46, 46] }
        return scalars
    }

    /// The label image: RGBA, `lines * cellHeight + 2 * padding` rows high.
    static func image(_ text: String, ink: (UInt8, UInt8, UInt8) = (20, 24, 32), panel: (UInt8, UInt8, UInt8) = (255, 255, 255)) -> Image {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).prefix(maxLines).map { displayText(String($0)) }
        let cw = LabelFont.cellWidth, ch = LabelFont.cellHeight
        let columns = max(1, lines.map(\.count).max() ?? 1)
        let width = columns * cw + 2 * padding, height = lines.count * ch + 2 * padding
        var pixels = [UInt8](repeating: 0, count: width * height * 4)
        let radius = Double(padding)
        for y in 0..<height {
            for x in 0..<width {
                // Rounded corners: alpha falls off outside the corner circles.
                let cx = min(max(Double(x) + 0.5, radius), Double(width) - radius)
                let cy = min(max(Double(y) + 0.5, radius), Double(height) - radius)
                let d = ((Double(x) + 0.5 - cx) * (Double(x) + 0.5 - cx) + (Double(y) + 0.5 - cy) * (Double(y) + 0.5 - cy)).squareRoot()
                let alpha = max(0, min(1, radius - d + 0.5))
                let i = (y * width + x) * 4
                pixels[i] = panel.0
                pixels[i + 1] = panel.1
                pixels[i + 2] = panel.2
                pixels[i + 3] = UInt8((alpha * 230).rounded())
            }
        }
        let coverage = LabelFont.coverage
        for (row, glyphs) in lines.enumerated() {
          for (n, code) in glyphs.enumerated() {
            let base = Int(code - LabelFont.firstCharacter) * cw * ch
            for gy in 0..<ch {
                for gx in 0..<cw {
                    let a = Int(coverage[base + gy * cw + gx])
                    if a == 0 { continue }
                    let i = ((row * ch + gy + padding) * width + padding + n * cw + gx) * 4
                    pixels[i] = UInt8((Int(ink.0) * a + Int(pixels[i]) * (255 - a)) / 255)
                    pixels[i + 1] = UInt8((Int(ink.1) * a + Int(pixels[i + 1]) * (255 - a)) / 255)
                    pixels[i + 2] = UInt8((Int(ink.2) * a + Int(pixels[i + 2]) * (255 - a)) / 255)
                    pixels[i + 3] = UInt8(max(Int(pixels[i + 3]), a))
                }
            }
          }
        }
        return Image(width: width, height: height, channels: 4, pixels: pixels)
    }
}
