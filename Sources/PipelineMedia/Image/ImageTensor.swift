/// A float tensor in CHW layout, as vision encoders take.
///
/// Plain `[Float]` plus a shape, so PipelineMedia needs no tensor library.
public struct ImageTensor: Sendable, Equatable {
    /// `[channels, height, width]`.
    public var shape: [Int]
    /// Row-major values: channel planes, each `height` rows of `width` values.
    public var data: [Float]

    /// ImageNet mean and std (RGB), used by most torchvision-trained encoders.
    public static let imagenetMean: [Float] = [0.485, 0.456, 0.406]
    /// ImageNet std (RGB).
    public static let imagenetStd: [Float] = [0.229, 0.224, 0.225]
    /// OpenAI CLIP mean (RGB).
    public static let clipMean: [Float] = [0.48145466, 0.4578275, 0.40821073]
    /// OpenAI CLIP std (RGB).
    public static let clipStd: [Float] = [0.26862954, 0.26130258, 0.27577711]

    /// Normalises an image: `(pixel * scale - mean[c]) / std[c]` per channel, in CHW order.
    ///
    /// Only the first three channels are used when the image is RGBA; a gray
    /// image gives one plane. `mean` and `std` need one value per used channel
    /// (a single value is broadcast).
    public init(image: Image, mean: [Float] = ImageTensor.imagenetMean, std: [Float] = ImageTensor.imagenetStd,
                scale: Float = 1.0 / 255.0) throws {
        let c = min(image.channels, 3)
        guard (mean.count == c || mean.count == 1), (std.count == c || std.count == 1) else {
            throw MediaError.invalidArgument("mean/std need \(c) values, got \(mean.count)/\(std.count)")
        }
        guard !std.contains(0) else { throw MediaError.invalidArgument("std contains 0") }
        let plane = image.width * image.height
        var out = [Float](repeating: 0, count: c * plane)
        let stride = image.channels
        image.pixels.withUnsafeBufferPointer { px in
            out.withUnsafeMutableBufferPointer { dst in
                for ch in 0..<c {
                    let m = mean.count == 1 ? mean[0] : mean[ch]
                    let inv = 1 / (std.count == 1 ? std[0] : std[ch])
                    let base = ch * plane
                    for i in 0..<plane {
                        dst[base + i] = (Float(px[i * stride + ch]) * scale - m) * inv
                    }
                }
            }
        }
        shape = [c, image.height, image.width]
        data = out
    }
}
