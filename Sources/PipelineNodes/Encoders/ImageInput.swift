import PipelineCore
import PipelineMedia
import PipelineModels

/// Turns what an image node receives into the network's input: an image is made RGB (gray
/// replicated, alpha dropped), stretched to `size` x `size` with bilinear swscale when it
/// is not that size already, and scaled `(x · scale − mean) / std` (by default
/// `(x − 127) / 128`, EfficientNet-Lite's training input; ViTs use ImageNet's mean and std);
/// a `tensor` payload `[3, h, w]` or `[1, 3, h, w]` is taken as already prepared.
struct ImageInput {
    var data: [Float]
    var height: Int
    var width: Int
    var path: String?
    var tile: Int?

    static func from(
        _ value: Value, size: Int, mean: [Float] = [127], std: [Float] = [128], scale: Float = 1
    ) throws -> ImageInput {
        if let payload = value.imagePayload {
            let image = try MediaSupport.attempt(payload.path) { try prepared(payload.image, size: size) }
            let tensor = try MediaSupport.attempt(payload.path) {
                try ImageTensor(image: image, mean: mean, std: std, scale: scale)
            }
            return ImageInput(data: tensor.data, height: size, width: size, path: payload.path, tile: payload.tile?.index)
        }
        if let tensor = value.tensorPayload {
            let shape = tensor.shape.first == 1 && tensor.shape.count == 4 ? Array(tensor.shape.dropFirst()) : tensor.shape
            guard shape.count == 3, shape[0] == 3, shape[1] > 0, shape[2] > 0, tensor.data.count == shape.reduce(1, *) else {
                throw NodeError("expected a [3, height, width] tensor, got shape \(tensor.shape)")
            }
            return ImageInput(data: tensor.data, height: shape[1], width: shape[2], path: tensor.path, tile: nil)
        }
        throw NodeError("expected an image or a [3, h, w] tensor, got \(value.kindName)")
    }

    /// RGB at `size` x `size`.
    static func prepared(_ image: Image, size: Int) throws -> Image {
        guard image.width > 0, image.height > 0, image.channels > 0,
            image.pixels.count >= image.width * image.height * image.channels
        else {
            throw NodeError("empty or malformed image (\(image.width)x\(image.height), \(image.channels) channels)")
        }
        var rgb = image
        if image.channels != 3 {
            // Gray and gray+alpha replicate the gray channel; RGBA drops alpha.
            let n = image.width * image.height, c = image.channels
            var pixels = [UInt8](repeating: 0, count: n * 3)
            for i in 0..<n {
                for k in 0..<3 { pixels[i * 3 + k] = image.pixels[i * c + (c >= 3 ? k : 0)] }
            }
            rgb = Image(width: image.width, height: image.height, channels: 3, pixels: pixels, source: image.source)
        }
        if rgb.width == size && rgb.height == size { return rgb }
        return try rgb.scaled(width: size, height: size, algorithm: .bilinear)
    }
}
