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
    /// `samePadding`. With `threads` > 1, groups of channels run as tasks on Dispatch workers.
    public static func depthwise(
        _ input: UnsafePointer<Float>, channels: Int, images: Int, height: Int, width: Int,
        weight: UnsafePointer<Float>, kernel: Int, stride: Int, bias: UnsafePointer<Float>? = nil, relu6: Bool = false,
        output: UnsafeMutablePointer<Float>, threads: Int = 1
    ) {
        let py = samePadding(input: height, kernel: kernel, stride: stride)
        let px = samePadding(input: width, kernel: kernel, stride: stride)
        let inPlane = images * height * width, outPlane = images * py.output * px.output
        // Tasks of a few channels (several per thread, so they even out).
        let chunks = threads > 1 ? min(channels, 4 * threads) : 1
        let per = (channels + chunks - 1) / chunks
        let run = { (task: Int) in
            let c0 = task * per, n = min(per, channels - c0)
            guard n > 0 else { return }
            pl_depthwise_conv(
                input + c0 * inPlane, Int32(n), Int32(images), Int32(height), Int32(width), weight + c0 * kernel * kernel,
                Int32(kernel), Int32(stride), Int32(py.before), Int32(px.before), Int32(py.output), Int32(px.output),
                bias.map { $0 + c0 }, relu6 ? 1 : 0, output + c0 * outPlane)
        }
        if chunks == 1 {
            run(0)
        } else {
            parallel(tasks: chunks, run)
        }
    }

    /// Weights `[outChannels][depth]` packed for `pointwise` (groups of 4 rows).
    public static func packPointwise(_ weight: [Float], outChannels: Int, depth: Int) -> [Float] {
        precondition(weight.count == outChannels * depth, "weights must be [\(outChannels)][\(depth)]")
        return [Float](unsafeUninitializedCapacity: (outChannels + 3) / 4 * 4 * depth) { buffer, initialized in
            weight.withUnsafeBufferPointer { pl_pack_weights_rows4($0.baseAddress!, Int32(outChannels), Int32(depth), buffer.baseAddress!) }
            initialized = buffer.count
        }
    }

    /// A 1x1 convolution (or any `[outChannels, depth] · [depth, length]` product) with its
    /// epilogue: `output[o, i] = act(Σ_c W[o, c] · input[c, i] + bias[o] (+ skip[o, i]))`, act
    /// ReLU6 when `relu6`. `packed` comes from `packPointwise`; `input` rows are `length` long,
    /// as are `skip` and `output` rows. Column chunks (and row parts, where there are few
    /// columns) run as tasks on Dispatch workers when `threads` > 1, each on one thread.
    public static func pointwise(
        packed: UnsafePointer<Float>, outChannels m: Int, depth k: Int, input: UnsafePointer<Float>, length n: Int,
        bias: UnsafePointer<Float>, skip: UnsafePointer<Float>? = nil, relu6: Bool, output: UnsafeMutablePointer<Float>,
        threads: Int
    ) {
        guard m > 0, n > 0 else { return }
        // A chunk's packed columns (k x 24 per panel) stay within about 96 KB, in L2.
        let panels = max(1, min(8, 1024 / max(k, 1))), chunkColumns = panels * 24
        let chunks = (n + chunkColumns - 1) / chunkColumns, groups = (m + 3) / 4
        let rowParts = threads > 1 && chunks < 2 * threads ? min(groups, (2 * threads + chunks - 1) / chunks) : 1
        let task = { (t: Int) in
            let chunk = t / rowParts, part = t % rowParts
            let g0 = part * groups / rowParts, g1 = (part + 1) * groups / rowParts
            let n0 = chunk * chunkColumns, n1 = min(n, n0 + chunkColumns), r0 = g0 * 4
            guard g1 > g0 else { return }
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: k * chunkColumns)
            defer { scratch.deallocate() }
            pl_conv_gemm(
                packed + r0 * k, Int32(min(m, g1 * 4) - r0), Int32(k), input, n, n0, n1, bias + r0, skip.map { $0 + r0 * n },
                relu6 ? 1 : 0, output + r0 * n, n, scratch)
        }
        if threads > 1 {
            parallel(tasks: chunks * rowParts, task)
        } else {
            for t in 0..<chunks * rowParts { task(t) }
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

    /// Runs `body(i)` for i in 0..<tasks on Dispatch's workers, which block rather than spin
    /// between loops.
    static func parallel(tasks: Int, _ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { body in
            let box = UncheckedBox(body)
            DispatchQueue.concurrentPerform(iterations: tasks) { box.value($0) }
        }
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

    /// `act(weight · input + bias (+ skip))` in Double, for tests: `weight` `[out][depth]`, input
    /// `[depth][length]`, skip and result `[out][length]`.
    public static func referencePointwise(
        _ input: [Float], depth: Int, length: Int, weight: [Float], outChannels: Int, bias: [Float], skip: [Float]?,
        relu6: Bool
    ) -> [Float] {
        var out = [Float](repeating: 0, count: outChannels * length)
        for o in 0..<outChannels {
            for i in 0..<length {
                var sum = Double(bias[o]) + Double(skip?[o * length + i] ?? 0)
                for c in 0..<depth { sum += Double(weight[o * depth + c]) * Double(input[c * length + i]) }
                out[o * length + i] = Float(relu6 ? min(max(sum, 0), 6) : sum)
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

/// A closure handed to the workers of one parallel loop, each task touching its own part.
private struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
