import CKernels
import Dispatch

/// Convolution building blocks for image encoders, over channel-major float activations
/// `[channels][images][height][width]` (a batch keeps each channel's planes together, so a
/// 1x1 convolution of the whole batch is one GEMM `[out, in] · [in, images·h·w]`).
///
/// The work is done by CKernels (always optimized); each has a plain Swift twin
/// (`reference…`) that the tests compare it with.
public enum ConvOps {
    /// TensorFlow "SAME" padding along one axis: the output length `ceil(input / stride)`
    /// and the zero padding before it; the rest of `total` goes after (TF puts the odd one
    /// after, unlike PyTorch's symmetric padding).
    public static func samePadding(input: Int, kernel: Int, stride: Int) -> (output: Int, before: Int, total: Int) {
        let output = (input + stride - 1) / stride
        let total = max((output - 1) * stride + kernel - input, 0)
        return (output, total / 2, total)
    }

    /// Depthwise k x k convolution with stride and SAME padding, plus `bias[c]` (when given)
    /// and ReLU6 (when `relu6`). `input` is `[channels][images][h][w]`, `weight`
    /// `[channels][k][k]`, `output` `[channels][images][oh][ow]` with `oh, ow` from
    /// `samePadding`. Channels are split over `threads` workers.
    public static func depthwise(
        _ input: UnsafePointer<Float>, channels: Int, images: Int, height: Int, width: Int,
        weight: UnsafePointer<Float>, kernel: Int, stride: Int, bias: UnsafePointer<Float>? = nil, relu6: Bool = false,
        output: UnsafeMutablePointer<Float>, threads: Int = 1
    ) {
        let py = samePadding(input: height, kernel: kernel, stride: stride)
        let px = samePadding(input: width, kernel: kernel, stride: stride)
        let inPlane = images * height * width, outPlane = images * py.output * px.output
        let chunks = max(1, min(threads, channels))
        let per = (channels + chunks - 1) / chunks
        // Addresses as integers: each worker writes only its own channels.
        let inAddress = UInt(bitPattern: input), weightAddress = UInt(bitPattern: weight)
        let outAddress = UInt(bitPattern: output), biasAddress = bias.map { UInt(bitPattern: $0) }
        let run = { @Sendable (c0: Int) in
            let n = min(per, channels - c0)
            guard n > 0, let i = UnsafePointer<Float>(bitPattern: inAddress),
                let w = UnsafePointer<Float>(bitPattern: weightAddress),
                let o = UnsafeMutablePointer<Float>(bitPattern: outAddress)
            else { return }
            pl_depthwise_conv(
                i + c0 * inPlane, Int32(n), Int32(images), Int32(height), Int32(width), w + c0 * kernel * kernel,
                Int32(kernel), Int32(stride), Int32(py.before), Int32(px.before), Int32(py.output), Int32(px.output),
                biasAddress.flatMap { UnsafePointer<Float>(bitPattern: $0) }.map { $0 + c0 }, relu6 ? 1 : 0,
                o + c0 * outPlane)
        }
        if chunks == 1 {
            run(0)
        } else {
            DispatchQueue.concurrentPerform(iterations: chunks) { run($0 * per) }
        }
    }

    /// `x[c, i] = act(x[c, i] + bias[c] (+ skip[c, i]))` over `channels` rows of `length`,
    /// where act is ReLU6 (`min(max(v, 0), 6)`) or the identity.
    public static func biasActivation(
        _ x: UnsafeMutablePointer<Float>, channels: Int, length: Int, bias: UnsafePointer<Float>, relu6: Bool,
        skip: UnsafePointer<Float>? = nil
    ) {
        pl_channel_bias_act(x, Int32(channels), length, bias, relu6 ? 1 : 0, skip)
    }

    /// `x[c, i] = bias[c] (+ skip[c, i])`: the start of a GEMM with `beta: 1`, so the bias
    /// and residual cost no pass after it.
    public static func fill(
        _ x: UnsafeMutablePointer<Float>, channels: Int, length: Int, bias: UnsafePointer<Float>,
        skip: UnsafePointer<Float>? = nil
    ) {
        pl_channel_fill(x, Int32(channels), length, bias, skip)
    }

    /// `x[i] = min(max(x[i], 0), 6)` over `count` values.
    public static func relu6(_ x: UnsafeMutablePointer<Float>, count: Int) {
        pl_relu6(x, count)
    }

    /// The im2col matrix of a dense k x k convolution with stride and SAME padding:
    /// `[channels·k·k][images·oh·ow]` from `[channels][images][h][w]`.
    public static func im2col(
        _ input: UnsafePointer<Float>, channels: Int, images: Int, height: Int, width: Int, kernel: Int, stride: Int,
        output: UnsafeMutablePointer<Float>
    ) {
        let py = samePadding(input: height, kernel: kernel, stride: stride)
        let px = samePadding(input: width, kernel: kernel, stride: stride)
        pl_im2col(
            input, Int32(channels), Int32(images), Int32(height), Int32(width), Int32(kernel), Int32(stride),
            Int32(py.before), Int32(px.before), Int32(py.output), Int32(px.output), output)
    }

    /// `out[p]` = the mean of row `p` of `length` floats.
    public static func rowMeans(_ x: UnsafePointer<Float>, rows: Int, length: Int, output: UnsafeMutablePointer<Float>) {
        pl_plane_means(x, Int32(rows), length, output)
    }

    // MARK: Plain references

    /// Direct depthwise convolution in Double, for tests.
    public static func referenceDepthwise(
        _ input: [Float], channels: Int, images: Int, height: Int, width: Int, weight: [Float], kernel: Int, stride: Int
    ) -> [Float] {
        let py = samePadding(input: height, kernel: kernel, stride: stride)
        let px = samePadding(input: width, kernel: kernel, stride: stride)
        var out = [Float](repeating: 0, count: channels * images * py.output * px.output)
        for c in 0..<channels {
            for n in 0..<images {
                let src = (c * images + n) * height * width
                let dst = (c * images + n) * py.output * px.output
                for oy in 0..<py.output {
                    for ox in 0..<px.output {
                        var sum = 0.0
                        for ky in 0..<kernel {
                            for kx in 0..<kernel {
                                let iy = oy * stride + ky - py.before, ix = ox * stride + kx - px.before
                                guard iy >= 0, iy < height, ix >= 0, ix < width else { continue }
                                sum += Double(input[src + iy * width + ix]) * Double(weight[(c * kernel + ky) * kernel + kx])
                            }
                        }
                        out[dst + oy * px.output + ox] = Float(sum)
                    }
                }
            }
        }
        return out
    }

    /// Direct dense convolution (no bias) with SAME padding in Double, for tests:
    /// `weight` `[out][in][k][k]`, input and output channel-major.
    public static func referenceConv(
        _ input: [Float], channels: Int, images: Int, height: Int, width: Int, weight: [Float], outChannels: Int,
        kernel: Int, stride: Int
    ) -> [Float] {
        let py = samePadding(input: height, kernel: kernel, stride: stride)
        let px = samePadding(input: width, kernel: kernel, stride: stride)
        let oh = py.output, ow = px.output
        var out = [Float](repeating: 0, count: outChannels * images * oh * ow)
        for o in 0..<outChannels {
            for n in 0..<images {
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        var sum = 0.0
                        for c in 0..<channels {
                            for ky in 0..<kernel {
                                for kx in 0..<kernel {
                                    let iy = oy * stride + ky - py.before, ix = ox * stride + kx - px.before
                                    guard iy >= 0, iy < height, ix >= 0, ix < width else { continue }
                                    let v = input[((c * images + n) * height + iy) * width + ix]
                                    sum += Double(v) * Double(weight[((o * channels + c) * kernel + ky) * kernel + kx])
                                }
                            }
                        }
                        out[((o * images + n) * oh + oy) * ow + ox] = Float(sum)
                    }
                }
            }
        }
        return out
    }
}
