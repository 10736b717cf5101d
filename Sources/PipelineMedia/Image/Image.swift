/// A decoded 8-bit image: packed, row-major, top row first, no row padding.
///
/// `channels` is 3 (RGB) or 4 (RGBA); 1 (gray) is allowed for intermediate
/// work. Pixel (x, y) channel c is at `pixels[(y * width + x) * channels + c]`.
public struct Image: Sendable, Equatable {
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int
    /// Bytes per pixel: 1, 3 or 4.
    public var channels: Int
    /// `width * height * channels` bytes.
    public var pixels: [UInt8]
    /// Where the image came from, when it was decoded from a file.
    public var source: ImageSource?

    /// Creates an image from packed pixels.
    /// - Precondition: `pixels.count == width * height * channels`.
    public init(width: Int, height: Int, channels: Int, pixels: [UInt8], source: ImageSource? = nil) {
        precondition(pixels.count == width * height * channels, "pixel count does not match \(width)x\(height)x\(channels)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
        self.source = source
    }

    /// An image filled with one colour (`fill` has `channels` bytes; missing bytes are 0).
    public init(width: Int, height: Int, channels: Int, fill: [UInt8] = []) {
        var px = [UInt8](repeating: 0, count: width * height * channels)
        if fill.contains(where: { $0 != 0 }) {
            for i in 0..<(width * height) {
                for c in 0..<min(channels, fill.count) { px[i * channels + c] = fill[c] }
            }
        }
        self.init(width: width, height: height, channels: channels, pixels: px)
    }

    /// The pixel layout for `channels`.
    public var layout: PixelLayout { PixelLayout(channels: channels) ?? .rgb }

    /// Bytes per row.
    public var rowBytes: Int { width * channels }

    /// The bytes of pixel (x, y).
    public func pixel(x: Int, y: Int) -> ArraySlice<UInt8> {
        let o = (y * width + x) * channels
        return pixels[o..<(o + channels)]
    }
}
