import CFFmpeg

/// Resizing, cropping and padding with swscale.
extension Image {
    /// Resizes with swscale to exactly `width`×`height` (no aspect handling).
    ///
    /// The result matches `ffmpeg -vf scale=W:H -sws_flags <algorithm>` on the
    /// same RGB input. Gray, RGB and RGBA are kept as they are.
    public func scaled(width: Int, height: Int, algorithm: ScaleAlgorithm = .bilinear) throws -> Image {
        guard width > 0, height > 0 else { throw MediaError.invalidArgument("resize to \(width)x\(height)") }
        if width == self.width && height == self.height { return self }
        let fmt = layout.avFormat.rawValue
        let scaler = try Scaler(srcWidth: self.width, srcHeight: self.height, srcFormat: fmt,
                                dstWidth: width, dstHeight: height, dstFormat: fmt,
                                algorithm: algorithm, path: source?.path ?? "")
        let out = scaler.scale(packed: pixels, srcChannels: channels, dstChannels: channels)
        return Image(width: width, height: height, channels: channels, pixels: out, source: source)
    }

    /// Resizes to a requested size under an aspect policy (see `ResizePlan`).
    ///
    /// `.shorterSide` returns a size other than the request: its shorter side
    /// is `min(width, height)`. Rounded sizes are at least 1 pixel.
    public func resized(width: Int, height: Int, policy: AspectPolicy = .stretch,
                        algorithm: ScaleAlgorithm = .bilinear) throws -> Image {
        let plan = try ResizePlan(sourceWidth: self.width, sourceHeight: self.height,
                                  width: width, height: height, policy: policy)
        return plan.finish(try scaled(width: plan.scaledWidth, height: plan.scaledHeight, algorithm: algorithm))
    }

    /// Resizes so the shorter side is `side`, keeping the aspect ratio.
    public func resized(shorterSide side: Int, algorithm: ScaleAlgorithm = .bilinear) throws -> Image {
        try resized(width: side, height: side, policy: .shorterSide, algorithm: algorithm)
    }

    /// Fits inside `width`×`height` keeping the aspect ratio and pads the rest with `fill`.
    /// - Returns: the padded image and where the picture lies in it.
    public func letterboxed(width: Int, height: Int, fill: [UInt8] = [0, 0, 0, 255],
                            algorithm: ScaleAlgorithm = .bilinear) throws -> (image: Image, placement: Placement) {
        let plan = try ResizePlan(sourceWidth: self.width, sourceHeight: self.height,
                                  width: width, height: height, policy: .letterbox(fill: fill))
        let image = plan.finish(try scaled(width: plan.scaledWidth, height: plan.scaledHeight, algorithm: algorithm))
        let placement = Placement(x: plan.offsetX, y: plan.offsetY, width: plan.scaledWidth, height: plan.scaledHeight,
                                  scaleX: Double(plan.scaledWidth) / Double(self.width),
                                  scaleY: Double(plan.scaledHeight) / Double(self.height))
        return (image, placement)
    }

    /// The rectangle at (x, y) of size width×height (clamped to the image).
    public func cropped(x: Int, y: Int, width: Int, height: Int) -> Image {
        let x0 = max(0, min(x, self.width)), y0 = max(0, min(y, self.height))
        let w = max(0, min(width, self.width - x0)), h = max(0, min(height, self.height - y0))
        var out = [UInt8](repeating: 0, count: w * h * channels)
        let rb = w * channels
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for row in 0..<h {
                    let s = ((y0 + row) * self.width + x0) * channels
                    for i in 0..<rb { dst[row * rb + i] = src[s + i] }
                }
            }
        }
        return Image(width: w, height: h, channels: channels, pixels: out, source: source)
    }

    /// Copies `other` (same channel count) into this image with its top-left at (x, y), clipped.
    public mutating func paste(_ other: Image, x: Int, y: Int) {
        precondition(other.channels == channels, "paste needs equal channel counts")
        let c = channels
        for row in 0..<other.height {
            let ty = y + row
            guard ty >= 0, ty < height else { continue }
            for col in 0..<other.width {
                let tx = x + col
                guard tx >= 0, tx < width else { continue }
                let s = (row * other.width + col) * c, d = (ty * width + tx) * c
                for k in 0..<c { pixels[d + k] = other.pixels[s + k] }
            }
        }
    }

    /// The same picture with `channels` 3 (alpha dropped) or 4 (opaque alpha added).
    public func withChannels(_ n: Int) -> Image {
        if n == channels { return self }
        var out = [UInt8](repeating: 255, count: width * height * n)
        for i in 0..<(width * height) {
            for k in 0..<n {
                if k < channels { out[i * n + k] = pixels[i * channels + k] }
                else if k < 3 { out[i * n + k] = pixels[i * channels] } // gray → rgb
            }
        }
        return Image(width: width, height: height, channels: n, pixels: out, source: source)
    }
}
