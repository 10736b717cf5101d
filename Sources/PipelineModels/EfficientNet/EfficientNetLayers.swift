import Foundation
import PipelineTensor

/// A convolution with its batch-norm folded in at load: `bn(conv(x)) = conv'(x) + bias'`,
/// with `w' = w · γ/√(var + ε)` per output channel and `bias' = β − mean · γ/√(var + ε)`
/// (computed in Double). Dense weights are `[out][in·k·k]`, depthwise ones `[channels][k·k]`;
/// dense ones are also kept packed for `ConvOps.pointwise`.
/// Where a network's tensors come from: a safetensors file, with some tensors replaced by
/// given values (adapted weights); a replacement must have exactly the element count of the
/// shape the network expects.
struct EfficientNetWeights {
    let file: SafetensorsFile
    let replacing: [String: [Float]]

    func floats(_ name: String, shape: [Int]) throws -> [Float] {
        guard let values = replacing[name] else { return try file.floats(name, shape: shape) }
        guard values.count == shape.reduce(1, *) else {
            throw EfficientNetError.badWeights(
                reason: "replacement for \(name) has \(values.count) values; the network expects shape \(shape) (\(shape.reduce(1, *)))")
        }
        return values
    }
}

struct EfficientNetConv: Sendable {
    let outChannels: Int
    let inChannels: Int
    let kernel: Int
    let stride: Int
    let depthwise: Bool
    let weight: [Float]
    let packed: [Float]
    let bias: [Float]

    /// Reads `conv.weight` and the batch-norm `bn.{weight,bias,running_mean,running_var}`,
    /// checking every shape; errors name the missing or misshapen tensor.
    init(
        _ file: EfficientNetWeights, conv: String, bn: String, inChannels: Int, outChannels: Int, kernel: Int, stride: Int,
        depthwise: Bool, epsilon: Double
    ) throws {
        let shape = [outChannels, depthwise ? 1 : inChannels, kernel, kernel]
        var w = try file.floats(conv + ".weight", shape: shape)
        let gamma = try file.floats(bn + ".weight", shape: [outChannels])
        let beta = try file.floats(bn + ".bias", shape: [outChannels])
        let mean = try file.floats(bn + ".running_mean", shape: [outChannels])
        let variance = try file.floats(bn + ".running_var", shape: [outChannels])
        let perOut = w.count / outChannels
        var b = [Float](repeating: 0, count: outChannels)
        for o in 0..<outChannels {
            let scale = Double(gamma[o]) / (Double(variance[o]) + epsilon).squareRoot()
            for i in 0..<perOut { w[o * perOut + i] = Float(Double(w[o * perOut + i]) * scale) }
            b[o] = Float(Double(beta[o]) - Double(mean[o]) * scale)
        }
        self.outChannels = outChannels
        self.inChannels = inChannels
        self.kernel = kernel
        self.stride = stride
        self.depthwise = depthwise
        self.weight = w
        self.packed = depthwise ? [] : ConvOps.packPointwise(w, outChannels: outChannels, depth: perOut)
        self.bias = b
    }

    /// Applies the convolution, bias and (optionally) ReLU6 and a residual to a channel-major
    /// activation.
    func callAsFunction(_ x: EfficientNetActivation, relu6: Bool, skip: EfficientNetActivation? = nil, threads: Int)
        -> EfficientNetActivation
    {
        let oh = ConvOps.samePadding(input: x.height, kernel: kernel, stride: stride).output
        let ow = ConvOps.samePadding(input: x.width, kernel: kernel, stride: stride).output
        let length = x.images * oh * ow
        let data = [Float](unsafeUninitializedCapacity: outChannels * length) { out, initialized in
            initialized = 0
            guard let o = out.baseAddress else { return }
            x.data.withUnsafeBufferPointer { src in
                weight.withUnsafeBufferPointer { wb in
                    bias.withUnsafeBufferPointer { bb in
                        guard let s = src.baseAddress, let w = wb.baseAddress, let b = bb.baseAddress else { return }
                        if depthwise {
                            // Bias and ReLU6 fused into the kernel.
                            ConvOps.depthwise(
                                s, channels: inChannels, images: x.images, height: x.height, width: x.width, weight: w,
                                kernel: kernel, stride: stride, bias: b, relu6: relu6, output: o, threads: threads)
                            return
                        }
                        // One product with bias, residual and ReLU6 applied as its tiles are stored;
                        // a k x k convolution (the stem) through im2col first.
                        packed.withUnsafeBufferPointer { pb in
                            let wp = pb.baseAddress!
                            func product(skip sk: UnsafePointer<Float>?) {
                                if kernel == 1 && stride == 1 {
                                    ConvOps.pointwise(
                                        packed: wp, outChannels: outChannels, depth: inChannels, input: s, length: length,
                                        bias: b, skip: sk, relu6: relu6, output: o, threads: threads)
                                    return
                                }
                                let depth = inChannels * kernel * kernel
                                let cols = UnsafeMutablePointer<Float>.allocate(capacity: depth * length)
                                defer { cols.deallocate() }
                                ConvOps.im2col(
                                    s, channels: inChannels, images: x.images, height: x.height, width: x.width,
                                    kernel: kernel, stride: stride, output: cols)
                                ConvOps.pointwise(
                                    packed: wp, outChannels: outChannels, depth: depth, input: cols, length: length, bias: b,
                                    skip: sk, relu6: relu6, output: o, threads: threads)
                            }
                            if let skip {
                                skip.data.withUnsafeBufferPointer { product(skip: $0.baseAddress) }
                            } else {
                                product(skip: nil)
                            }
                        }
                    }
                }
            }
            initialized = outChannels * length
        }
        return EfficientNetActivation(data: data, channels: outChannels, images: x.images, height: oh, width: ow)
    }
}

/// A channel-major batch of feature maps: `data[c][image][y][x]`.
struct EfficientNetActivation: Sendable {
    var data: [Float]
    var channels: Int
    var images: Int
    var height: Int
    var width: Int
}

/// An MBConv block without squeeze-excite: 1x1 expansion (when the ratio is not 1) + ReLU6,
/// k x k depthwise + ReLU6, 1x1 projection, plus the input when the shapes match.
struct EfficientNetBlock: Sendable {
    let spec: EfficientNetConfig.Block
    let expand: EfficientNetConv?
    let depthwise: EfficientNetConv
    let project: EfficientNetConv

    init(_ file: EfficientNetWeights, index: Int, spec: EfficientNetConfig.Block, epsilon: Double) throws {
        let p = "_blocks.\(index)."
        let hidden = spec.inChannels * spec.expandRatio
        self.spec = spec
        expand = spec.expandRatio == 1 ? nil : try EfficientNetConv(
            file, conv: p + "_expand_conv", bn: p + "_bn0", inChannels: spec.inChannels, outChannels: hidden, kernel: 1,
            stride: 1, depthwise: false, epsilon: epsilon)
        depthwise = try EfficientNetConv(
            file, conv: p + "_depthwise_conv", bn: p + "_bn1", inChannels: hidden, outChannels: hidden, kernel: spec.kernel,
            stride: spec.stride, depthwise: true, epsilon: epsilon)
        project = try EfficientNetConv(
            file, conv: p + "_project_conv", bn: p + "_bn2", inChannels: hidden, outChannels: spec.outChannels, kernel: 1,
            stride: 1, depthwise: false, epsilon: epsilon)
    }

    func callAsFunction(_ x: EfficientNetActivation, threads: Int) -> EfficientNetActivation {
        var h = x
        if let expand { h = expand(x, relu6: true, threads: threads) }
        h = depthwise(h, relu6: true, threads: threads)
        return project(h, relu6: false, skip: spec.residual ? x : nil, threads: threads)
    }
}
