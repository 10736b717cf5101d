/// EXIF orientation (tag 0x0112): how stored pixels map to the upright image.
///
/// Raw values are the EXIF codes 1–8. `apply(to:)` returns the upright image,
/// swapping width and height for the four transposing cases.
public enum ImageOrientation: Int, Sendable, Equatable {
    case up = 1
    case upMirrored = 2
    case down = 3
    case downMirrored = 4
    case leftMirrored = 5
    case right = 6
    case rightMirrored = 7
    case left = 8

    /// From the orientation text FFmpeg stores in metadata ("1"…"8"); `.up` when absent or odd.
    init(metadataValue: String?) {
        guard let v = metadataValue.flatMap({ Int($0.filter { !$0.isWhitespace }) }),
              let o = ImageOrientation(rawValue: v) else {
            self = .up
            return
        }
        self = o
    }

    /// From a display matrix: counter-clockwise rotation in degrees plus horizontal flip.
    init(rotationDegrees: Double, hflip: Bool) {
        // A damaged display matrix gives NaN (zero scale): treat it as upright.
        guard rotationDegrees.isFinite else {
            self = hflip ? .upMirrored : .up
            return
        }
        // Normalise to the clockwise quarter turns needed to display upright.
        var cw = Int((-rotationDegrees / 90).rounded()) % 4
        if cw < 0 { cw += 4 }
        switch (cw, hflip) {
        case (0, false): self = .up
        case (1, false): self = .right
        case (2, false): self = .down
        case (3, false): self = .left
        case (0, true): self = .upMirrored
        case (1, true): self = .rightMirrored
        case (2, true): self = .downMirrored
        default: self = .leftMirrored
        }
    }

    /// Whether the upright image has width and height swapped.
    public var swapsDimensions: Bool { rawValue >= 5 }

    /// The upright image for stored pixels `image`.
    public func apply(to image: Image) -> Image {
        if self == .up { return image }
        let w = image.width, h = image.height, c = image.channels
        let ow = swapsDimensions ? h : w
        let oh = swapsDimensions ? w : h
        var out = [UInt8](repeating: 0, count: ow * oh * c)
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<oh {
                    for x in 0..<ow {
                        let sx: Int, sy: Int
                        switch self {
                        case .up: (sx, sy) = (x, y)
                        case .upMirrored: (sx, sy) = (w - 1 - x, y)
                        case .down: (sx, sy) = (w - 1 - x, h - 1 - y)
                        case .downMirrored: (sx, sy) = (x, h - 1 - y)
                        case .leftMirrored: (sx, sy) = (y, x)
                        case .right: (sx, sy) = (y, h - 1 - x)
                        case .rightMirrored: (sx, sy) = (w - 1 - y, h - 1 - x)
                        case .left: (sx, sy) = (w - 1 - y, x)
                        }
                        let so = (sy * w + sx) * c, d = (y * ow + x) * c
                        for k in 0..<c { dst[d + k] = src[so + k] }
                    }
                }
            }
        }
        var result = Image(width: ow, height: oh, channels: c, pixels: out, source: image.source)
        result.source?.orientationApplied = true
        return result
    }
}
