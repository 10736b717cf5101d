/// The swscale size plus the crop or pad that realise an `AspectPolicy`.
///
/// Shared by `Image.resized` and `VideoDecoder`, so a video frame decoded with
/// a policy is pixel-identical to the same frame resized afterwards.
public struct ResizePlan: Sendable, Equatable {
    /// What follows the scale.
    public enum Finish: Sendable, Equatable {
        /// Nothing: the scaled picture is the output.
        case none
        /// Pad the scaled picture into the output at (offsetX, offsetY) with `fill`.
        case pad(fill: [UInt8])
        /// Cut the output from the scaled picture at (offsetX, offsetY).
        case crop
    }

    /// Width swscale produces.
    public var scaledWidth: Int
    /// Height swscale produces.
    public var scaledHeight: Int
    /// Final width.
    public var outputWidth: Int
    /// Final height.
    public var outputHeight: Int
    /// Horizontal offset: of the picture in the output (pad) or of the output in the picture (crop).
    public var offsetX: Int
    /// Vertical offset, as `offsetX`.
    public var offsetY: Int
    /// The step after scaling.
    public var finish: Finish

    /// Plans fitting a `sourceWidth`×`sourceHeight` picture to `width`×`height` under `policy`.
    /// - Throws: `MediaError.invalidArgument` for empty sizes.
    public init(sourceWidth sw: Int, sourceHeight sh: Int, width: Int, height: Int, policy: AspectPolicy) throws {
        guard sw > 0, sh > 0, width > 0, height > 0 else {
            throw MediaError.invalidArgument("resize \(sw)x\(sh) to \(width)x\(height)")
        }
        func r(_ v: Double) -> Int { max(1, Int(v.rounded())) }
        switch policy {
        case .stretch:
            (scaledWidth, scaledHeight, outputWidth, outputHeight) = (width, height, width, height)
            (offsetX, offsetY, finish) = (0, 0, .none)
        case .letterbox(let fill):
            let s = min(Double(width) / Double(sw), Double(height) / Double(sh))
            scaledWidth = min(width, r(Double(sw) * s))
            scaledHeight = min(height, r(Double(sh) * s))
            (outputWidth, outputHeight) = (width, height)
            (offsetX, offsetY) = ((width - scaledWidth) / 2, (height - scaledHeight) / 2)
            finish = .pad(fill: fill)
        case .centerCrop:
            let s = max(Double(width) / Double(sw), Double(height) / Double(sh))
            scaledWidth = max(width, r(Double(sw) * s))
            scaledHeight = max(height, r(Double(sh) * s))
            (outputWidth, outputHeight) = (width, height)
            (offsetX, offsetY) = ((scaledWidth - width) / 2, (scaledHeight - height) / 2)
            finish = .crop
        case .shorterSide:
            let side = min(width, height)
            let s = Double(side) / Double(min(sw, sh))
            scaledWidth = sw <= sh ? side : r(Double(sw) * s)
            scaledHeight = sh < sw ? side : r(Double(sh) * s)
            (outputWidth, outputHeight) = (scaledWidth, scaledHeight)
            (offsetX, offsetY, finish) = (0, 0, .none)
        }
    }

    /// Applies the crop or pad to a picture already scaled to `scaledWidth`×`scaledHeight`.
    public func finish(_ scaled: Image) -> Image {
        switch finish {
        case .none:
            return scaled
        case .crop:
            return scaled.cropped(x: offsetX, y: offsetY, width: outputWidth, height: outputHeight)
        case .pad(let fill):
            var canvas = Image(width: outputWidth, height: outputHeight, channels: scaled.channels, fill: fill)
            canvas.source = scaled.source
            canvas.paste(scaled, x: offsetX, y: offsetY)
            return canvas
        }
    }
}
