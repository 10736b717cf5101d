/// The shape of an EfficientNet-Lite network: stem, stages of MBConv blocks, head.
///
/// Lite0 is TensorFlow's `efficientnet_lite_builder` at width and depth 1.0, 224 pixels:
/// EfficientNet-B0's stages without squeeze-excite, ReLU6 in place of swish, and the stem
/// (32) and head (1280) not scaled. Batch-norm epsilon 1e-3; TF "SAME" padding.
public struct EfficientNetConfig: Sendable, Equatable {
    /// One stage: `repeats` blocks of `kernel` x `kernel` depthwise convolutions; the first
    /// block has `stride` and goes from the previous stage's width to `outChannels`.
    public struct Stage: Sendable, Equatable {
        public var repeats: Int
        public var kernel: Int
        public var stride: Int
        public var expandRatio: Int
        public var outChannels: Int
    }

    public var stemChannels = 32
    public var stages: [Stage]
    public var headChannels = 1280
    public var classes = 1000
    public var imageSize = 224
    public var batchNormEpsilon = 1e-3

    /// EfficientNet-Lite0 (`r1_k3_s11_e1_i32_o16` … `r1_k3_s11_e6_i192_o320`).
    public static let lite0 = EfficientNetConfig(stages: [
        Stage(repeats: 1, kernel: 3, stride: 1, expandRatio: 1, outChannels: 16),
        Stage(repeats: 2, kernel: 3, stride: 2, expandRatio: 6, outChannels: 24),
        Stage(repeats: 2, kernel: 5, stride: 2, expandRatio: 6, outChannels: 40),
        Stage(repeats: 3, kernel: 3, stride: 2, expandRatio: 6, outChannels: 80),
        Stage(repeats: 3, kernel: 5, stride: 1, expandRatio: 6, outChannels: 112),
        Stage(repeats: 4, kernel: 5, stride: 2, expandRatio: 6, outChannels: 192),
        Stage(repeats: 1, kernel: 3, stride: 1, expandRatio: 6, outChannels: 320),
    ])

    /// One MBConv block as built: input and output width, expansion, kernel and stride.
    public struct Block: Sendable, Equatable {
        public var inChannels: Int
        public var outChannels: Int
        public var expandRatio: Int
        public var kernel: Int
        public var stride: Int
        /// The block adds its input to its output (stride 1, same width).
        public var residual: Bool { stride == 1 && inChannels == outChannels }
    }

    /// The blocks in order (`_blocks.0` …), stages unrolled.
    public var blocks: [Block] {
        var out: [Block] = []
        var width = stemChannels
        for stage in stages {
            for r in 0..<stage.repeats {
                out.append(Block(
                    inChannels: width, outChannels: stage.outChannels, expandRatio: stage.expandRatio,
                    kernel: stage.kernel, stride: r == 0 ? stage.stride : 1))
                width = stage.outChannels
            }
        }
        return out
    }
}
