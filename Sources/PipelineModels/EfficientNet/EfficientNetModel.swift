import Dispatch
import Foundation
import Synchronization
import PipelineTensor

/// What the network gives for a batch: the pooled features and the class logits, row-major
/// `[images][featureSize]` and `[images][classes]`.
public struct EfficientNetOutput: Sendable {
    public var images: Int
    public var featureSize: Int
    public var classes: Int
    public var features: [Float]
    public var logits: [Float]

    /// The pooled feature of image `i`.
    public func feature(_ i: Int) -> ArraySlice<Float> { features[i * featureSize..<(i + 1) * featureSize] }
    /// The logits of image `i`.
    public func logits(_ i: Int) -> ArraySlice<Float> { logits[i * classes..<(i + 1) * classes] }
}

/// One image's feature map, `data[channel][y][x]`.
public struct EfficientNetMap: Sendable, Equatable {
    public var channels: Int
    public var height: Int
    public var width: Int
    public var data: [Float]

    public init(channels: Int, height: Int, width: Int, data: [Float]) {
        self.channels = channels
        self.height = height
        self.width = width
        self.data = data
    }
}

/// EfficientNet-Lite on the CPU: the safetensors state dict of `efficientnet_lite_pytorch`
/// (`_conv_stem`, `_bn0`, `_blocks.N.…`, `_conv_head`, `_bn1`, `_fc`), batch-norm folded into
/// the convolutions at load. Dense and 1x1 convolutions run on `ConvOps.pointwise` (our
/// AVX2 product with bias, residual and ReLU6 fused; the stem through im2col), depthwise ones
/// on a CKernels loop. With `BLAS.threads` > 1 a batch splits by image over Dispatch workers
/// and a single image splits each convolution into tasks.
///
/// Immutable after load, so one instance serves any number of threads.
public final class EfficientNetModel: Sendable {
    public let config: EfficientNetConfig
    public let path: String
    let stem: EfficientNetConv
    let blocks: [EfficientNetBlock]
    let head: EfficientNetConv
    let classifierWeight: [Float]
    let classifierBias: [Float]

    /// The length of the pooled feature (1280 for Lite0).
    public var featureSize: Int { config.headChannels }

    /// Loads the weights from a safetensors file; every tensor is checked for presence and shape.
    public convenience init(path: String, config: EfficientNetConfig = .lite0) throws {
        try self.init(path: path, config: config, replacing: [:])
    }

    /// Loads the weights with some tensors replaced (by name, e.g. `_blocks.8._expand_conv.weight`,
    /// in the file's layout): adapted weights on the same network. A replacement of the wrong
    /// size is an error naming the tensor and both sizes; batch norm is folded in as usual.
    public init(path: String, config: EfficientNetConfig = .lite0, replacing: [String: [Float]]) throws {
        let file = EfficientNetWeights(file: try SafetensorsFile(path: path), replacing: replacing)
        let eps = config.batchNormEpsilon
        self.config = config
        self.path = path
        stem = try EfficientNetConv(
            file, conv: "_conv_stem", bn: "_bn0", inChannels: 3, outChannels: config.stemChannels, kernel: 3, stride: 2,
            depthwise: false, epsilon: eps)
        blocks = try config.blocks.enumerated().map { i, spec in
            try EfficientNetBlock(file, index: i, spec: spec, epsilon: eps)
        }
        let last = config.blocks.last?.outChannels ?? config.stemChannels
        head = try EfficientNetConv(
            file, conv: "_conv_head", bn: "_bn1", inChannels: last, outChannels: config.headChannels, kernel: 1, stride: 1,
            depthwise: false, epsilon: eps)
        classifierWeight = try file.floats("_fc.weight", shape: [config.classes, config.headChannels])
        classifierBias = try file.floats("_fc.bias", shape: [config.classes])
    }

    /// Runs a batch of `images` RGB images given as `[images][3][height][width]` floats,
    /// already normalised (`(x − 127) / 128` on 0…255 for Lite). Any size of at least one
    /// pixel works (SAME padding adapts); the weights were trained at 224 x 224.
    public func forward(_ input: [Float], images: Int, height: Int, width: Int) throws -> EfficientNetOutput {
        try forward(input, images: images, height: height, width: width, threads: max(1, BLAS.threads))
    }

    /// `forward` on `threads` threads. A batch of several images is split by image: each
    /// thread takes whole images and runs them alone (no hand-off inside the ~50 short loops of
    /// a pass, where on a busy machine a descheduled helper holds up the rest); one image
    /// splits each convolution over the threads. Every image's result is the same either way:
    /// each column of a product and each plane of a depthwise convolution is computed alone.
    /// The classifier runs once for the batch, on the calling thread.
    func forward(_ input: [Float], images: Int, height: Int, width: Int, threads: Int) throws -> EfficientNetOutput {
        guard images > 0, height > 0, width > 0 else {
            throw EfficientNetError.badInput(reason: "empty batch or image (\(images) x 3 x \(height) x \(width))")
        }
        guard input.count == images * 3 * height * width else {
            throw EfficientNetError.badInput(
                reason: "\(input.count) floats for \(images) x 3 x \(height) x \(width) (\(images * 3 * height * width) expected)")
        }
        let features: [Float]
        if images > 1 && threads > 1 {
            let perImage = 3 * height * width
            let parts = Mutex([[Float]](repeating: [], count: images))
            DispatchQueue.concurrentPerform(iterations: images) { i in
                let one = pooledFeatures(
                    Array(input[i * perImage..<(i + 1) * perImage]), images: 1, height: height, width: width, threads: 1)
                parts.withLock { $0[i] = one }
            }
            features = parts.withLock { $0.flatMap { $0 } }
        } else {
            features = pooledFeatures(input, images: images, height: height, width: width, threads: threads)
        }
        let logits = try classify(features: features)
        return EfficientNetOutput(
            images: images, featureSize: featureSize, classes: config.classes, features: features, logits: logits)
    }

    /// One image's last feature map as tokens, with its pooled feature and logits: `tokens`
    /// is `[rows · columns][featureSize]`, token `t` the map's cell `(t / columns, t % columns)`
    /// (7 x 7 x 1280 for Lite0 at 224 x 224): what a fusion connector reads. The pooled feature
    /// is the mean of the same map, bit-identical to `forward`'s.
    public func forwardTokens(_ input: [Float], height: Int, width: Int) throws
        -> (output: EfficientNetOutput, tokens: [Float], rows: Int, columns: Int)
    {
        guard height > 0, width > 0, input.count == 3 * height * width else {
            throw EfficientNetError.badInput(reason: "\(input.count) floats for 3 x \(height) x \(width)")
        }
        let x = headActivation(input, images: 1, height: height, width: width, threads: max(1, BLAS.threads))
        let tokens = Self.cellTokens(x.data, channels: x.channels, height: x.height, width: x.width, side: 1)
        return (try output(head: x), tokens, x.height, x.width)
    }

    /// One image's pooled feature and logits from its head activation.
    private func output(head x: EfficientNetActivation) throws -> EfficientNetOutput {
        let features = pool(x, images: 1)
        return EfficientNetOutput(
            images: 1, featureSize: featureSize, classes: config.classes, features: features, logits: try classify(features: features))
    }

    /// A `[channels][height][width]` map as tokens of `side` x `side` cells each, row-major:
    /// token `(r, c)` holds cells `(side·r + dy, side·c + dx)` in row-major `(dy, dx)` order,
    /// `channels` values each. `height` and `width` are multiples of `side`.
    private static func cellTokens(_ data: [Float], channels c: Int, height: Int, width: Int, side: Int) -> [Float] {
        let rows = height / side, columns = width / side, group = side * side, plane = height * width
        var tokens = [Float](repeating: 0, count: rows * columns * group * c)
        data.withUnsafeBufferPointer { src in
            tokens.withUnsafeMutableBufferPointer { dst in
                for r in 0..<rows {
                    for col in 0..<columns {
                        for q in 0..<group {
                            let cell = (side * r + q / side) * width + side * col + q % side
                            let base = ((r * columns + col) * group + q) * c
                            for ch in 0..<c { dst[base + ch] = src[ch * plane + cell] }
                        }
                    }
                }
            }
        }
        return tokens
    }

    /// The last block whose output is at stride 16 (block 10 of Lite0: the end of the
    /// 112-channel stage, 14 x 14 at 224 x 224), or nil for a network that never reaches it.
    public var stride16Block: Int? {
        var stride = 2  // the stem
        var last: Int?
        for (i, block) in config.blocks.enumerated() {
            stride *= block.stride
            if stride == 16 { last = i }
        }
        return last
    }

    /// The width of `forwardStride16Tokens`'s tokens: the stride-16 map's channels, four times
    /// that when 2 x 2 cells are merged into one token.
    public func stride16Width(merged: Bool) -> Int? {
        stride16Block.map { (merged ? 4 : 1) * config.blocks[$0].outChannels }
    }

    /// Like `forwardTokens`, but the tokens come from the stride-16 map (`stride16Block`'s
    /// output, C channels). Unmerged: one token per cell, `[rows · columns][C]`, token `t` = cell
    /// `(t / columns, t % columns)` (14 x 14 x 112 for Lite0 at 224 x 224;
    /// `make-features.py --tokens=stride16-unmerged`). Merged: each 2 x 2 group of cells is one
    /// token, `[rows · columns][4 · C]`, token `t` = merged cell `(t / columns, t % columns)`, its
    /// values the cells `(2r + dy, 2c + dx)` for `(dy, dx)` = (0,0), (0,1), (1,0), (1,1), C
    /// channels each (7 x 7 x 448; `--tokens=stride16`). The pooled feature and logits are those
    /// of the same run's head, as `forwardTokens`.
    public func forwardStride16Tokens(_ input: [Float], height: Int, width: Int, merged: Bool) throws
        -> (output: EfficientNetOutput, tokens: [Float], rows: Int, columns: Int, width: Int)
    {
        guard let tap = stride16Block else {
            throw EfficientNetError.badInput(reason: "this network has no stride-16 stage")
        }
        let maps = try featureMaps(input, height: height, width: width, taps: [tap, blocks.count])
        guard let map = maps[tap], let headMap = maps[blocks.count] else {
            throw EfficientNetError.badInput(reason: "the network gave no stride-16 map")
        }
        guard !merged || (map.height % 2 == 0 && map.width % 2 == 0) else {
            throw EfficientNetError.badInput(
                reason: "the stride-16 map is \(map.height) x \(map.width); merging 2 x 2 cells needs even sides "
                    + "(an image whose sides are multiples of 32 pixels)")
        }
        let side = merged ? 2 : 1
        let tokens = Self.cellTokens(map.data, channels: map.channels, height: map.height, width: map.width, side: side)
        let head = EfficientNetActivation(
            data: headMap.data, channels: headMap.channels, images: 1, height: headMap.height, width: headMap.width)
        return (try output(head: head), tokens, map.height / side, map.width / side, side * side * map.channels)
    }

    /// Runs one image and returns the feature maps after the blocks in `taps` (block indices;
    /// `config.blocks.count` is the head's output, after its ReLU6), each `[channels][h][w]`.
    /// The network stops after the last tap.
    public func featureMaps(_ input: [Float], height: Int, width: Int, taps: [Int]) throws -> [Int: EfficientNetMap] {
        guard height > 0, width > 0, input.count == 3 * height * width else {
            throw EfficientNetError.badInput(reason: "\(input.count) floats for 3 x \(height) x \(width)")
        }
        let threads = max(1, BLAS.threads)
        let x = stem(
            EfficientNetActivation(data: input, channels: 3, images: 1, height: height, width: width), relu6: true, threads: threads)
        return try run(x, from: 0, taps: taps, threads: threads)
    }

    /// Continues the network from `map`, the output of block `after` (a map `featureMaps` gave,
    /// perhaps of another network with the same shape), to the blocks in `taps`.
    public func featureMaps(continuing map: EfficientNetMap, after block: Int, taps: [Int]) throws -> [Int: EfficientNetMap] {
        guard block >= 0, block < blocks.count, map.channels == blocks[block].spec.outChannels,
            map.data.count == map.channels * map.height * map.width
        else {
            throw EfficientNetError.badInput(reason: "a \(map.channels)-channel map does not follow block \(block)")
        }
        let x = EfficientNetActivation(data: map.data, channels: map.channels, images: 1, height: map.height, width: map.width)
        return try run(x, from: block + 1, taps: taps, threads: max(1, BLAS.threads))
    }

    private func run(_ start: EfficientNetActivation, from first: Int, taps: [Int], threads: Int) throws -> [Int: EfficientNetMap] {
        guard let last = taps.max(), taps.allSatisfy({ $0 >= first && $0 <= blocks.count }) else {
            throw EfficientNetError.badInput(reason: "taps \(taps) outside blocks \(first)...\(blocks.count)")
        }
        var out: [Int: EfficientNetMap] = [:]
        var x = start
        func keep(_ i: Int) {
            if taps.contains(i) { out[i] = EfficientNetMap(channels: x.channels, height: x.height, width: x.width, data: x.data) }
        }
        for i in first..<min(last + 1, blocks.count) {
            x = blocks[i](x, threads: threads)
            keep(i)
        }
        if last == blocks.count {
            x = head(x, relu6: true, threads: threads)
            keep(blocks.count)
        }
        return out
    }

    /// The network up to the global average pool: features `[images][featureSize]`.
    private func pooledFeatures(_ input: [Float], images: Int, height: Int, width: Int, threads: Int) -> [Float] {
        pool(headActivation(input, images: images, height: height, width: width, threads: threads), images: images)
    }

    /// The network up to the head's ReLU6: the last feature map, channel-major `[channel][image][h][w]`.
    private func headActivation(_ input: [Float], images: Int, height: Int, width: Int, threads: Int) -> EfficientNetActivation {
        // NCHW → channel-major [3][images][h][w].
        let plane = height * width
        var cm = [Float](repeating: 0, count: input.count)
        for n in 0..<images {
            for c in 0..<3 {
                let src = (n * 3 + c) * plane, dst = (c * images + n) * plane
                for i in 0..<plane { cm[dst + i] = input[src + i] }
            }
        }
        var x = EfficientNetActivation(data: cm, channels: 3, images: images, height: height, width: width)
        x = stem(x, relu6: true, threads: threads)
        for block in blocks { x = block(x, threads: threads) }
        return head(x, relu6: true, threads: threads)
    }

    /// Global average pool of a channel-major map: features `[images][channels]`.
    private func pool(_ x: EfficientNetActivation, images: Int) -> [Float] {
        // Global average pool: rows [channel][image] of h·w → features [image][channel].
        let rows = x.channels * images
        var pooled = [Float](repeating: 0, count: rows)
        x.data.withUnsafeBufferPointer { src in
            pooled.withUnsafeMutableBufferPointer { dst in
                guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                ConvOps.rowMeans(s, rows: rows, length: x.height * x.width, output: d)
            }
        }
        var features = [Float](repeating: 0, count: rows)
        for c in 0..<x.channels {
            for n in 0..<images { features[n * x.channels + c] = pooled[c * images + n] }
        }
        return features
    }

    /// The classifier alone on pooled features `[images][featureSize]` (for embeddings computed earlier).
    public func classify(features: [Float]) throws -> [Float] {
        let k = config.headChannels, classes = config.classes
        guard !features.isEmpty, features.count % k == 0 else {
            throw EfficientNetError.badInput(reason: "\(features.count) feature values, not a multiple of \(k)")
        }
        let images = features.count / k
        var logits = [Float](repeating: 0, count: images * classes)
        features.withUnsafeBufferPointer { f in
            classifierWeight.withUnsafeBufferPointer { w in
                logits.withUnsafeMutableBufferPointer { l in
                    guard let fa = f.baseAddress, let wa = w.baseAddress, let la = l.baseAddress else { return }
                    BLAS.gemmTransposedB(m: images, n: classes, k: k, a: fa, lda: k, b: wa, ldb: k, c: la, ldc: classes)
                    classifierBias.withUnsafeBufferPointer { b in
                        if let ba = b.baseAddress { EncoderOps.addBias(la, rows: images, cols: classes, bias: ba) }
                    }
                }
            }
        }
        return logits
    }
}
