import CKernels

/// The instruction-set features of this CPU that the kernels care about, as cpuid reports them
/// and the OS enables them (xgetbv): on an OS that does not save the ZMM registers the AVX-512
/// bits are clear even where the CPU has them.
public struct CPUFeatures: OptionSet, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let avx2 = CPUFeatures(rawValue: UInt32(PL_CPU_AVX2))
    public static let fma = CPUFeatures(rawValue: UInt32(PL_CPU_FMA))
    public static let f16c = CPUFeatures(rawValue: UInt32(PL_CPU_F16C))
    public static let avx512f = CPUFeatures(rawValue: UInt32(PL_CPU_AVX512F))
    public static let avx512bw = CPUFeatures(rawValue: UInt32(PL_CPU_AVX512BW))
    public static let avx512vl = CPUFeatures(rawValue: UInt32(PL_CPU_AVX512VL))
    public static let avx512vnni = CPUFeatures(rawValue: UInt32(PL_CPU_AVX512VNNI))
    public static let avx512bf16 = CPUFeatures(rawValue: UInt32(PL_CPU_AVX512BF16))

    /// Every feature with the name /proc/cpuinfo gives it, in a fixed order.
    public static let named: [(CPUFeatures, String)] = [
        (.avx2, "avx2"), (.fma, "fma"), (.f16c, "f16c"), (.avx512f, "avx512f"), (.avx512bw, "avx512bw"),
        (.avx512vl, "avx512vl"), (.avx512vnni, "avx512_vnni"), (.avx512bf16, "avx512_bf16"),
    ]

    /// This CPU's features (detected once, when the kernels load).
    public static var host: CPUFeatures { CPUFeatures(rawValue: UInt32(pl_cpu_features())) }

    /// The names of the features in this set.
    public var names: [String] { Self.named.filter { contains($0.0) }.map(\.1) }

    public var description: String { names.isEmpty ? "none" : names.joined(separator: " ") }
}
