import Foundation
import Testing

@testable import PipelineTensor

/// The C kernels (AVX2 where the CPU has it, and their portable twins) against the Swift
/// scalar reference, on random blocks and edge cases.
@Suite("SIMD kernels")
struct KernelTests {
    static let types: [GGMLType] = [.q8_0, .q4_0, .q4_1]

    func activations(_ count: Int, seed: UInt64, format: QuantizedDot.ActivationFormat, extreme: Bool) -> [UInt8] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        let x: [Float] = (0..<count).map { i in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            if extreme { return i % 2 == 0 ? 1000 : -1000 }  // every quant at ±127
            return Float(Int64(state >> 33) % 2000 - 1000) / 100
        }
        return x.withUnsafeBufferPointer { QuantizedDot.quantize($0.baseAddress!, count: count, as: format) }
    }

    @Test("AVX2 and portable C equal the Swift reference", arguments: types)
    func matches(type: GGMLType) throws {
        let format = try #require(QuantizedDot.activationFormat(for: type))
        for seed in 1...30 {
            let count = 32 * (1 + seed % 24)
            var weights = randomWeights(type, blocks: count / 32, seed: UInt64(seed))
            if seed % 7 == 0 {
                // Edge blocks: all nibbles or bytes at their extremes.
                for i in weights.indices where i % type.blockBytes >= (type == .q8_0 ? 2 : type == .q4_1 ? 4 : 2) {
                    weights[i] = seed % 2 == 0 ? 0xFF : (type == .q8_0 ? 0x80 : 0x00)
                }
            }
            let acts = activations(count, seed: UInt64(seed), format: format, extreme: seed % 5 == 0)
            let (reference, fast, portable) = weights.withUnsafeBytes { w in
                acts.withUnsafeBytes { a in
                    (
                        QuantizedDot.dot(type, w.baseAddress!, a.baseAddress!, count: count),
                        QuantizedDot.fastDot(type, w.baseAddress!, a.baseAddress!, count: count),
                        QuantizedDot.withPortableKernels { QuantizedDot.fastDot(type, w.baseAddress!, a.baseAddress!, count: count) }
                    )
                }
            }
            // Same integer sums; only the order of float accumulation differs.
            let tolerance = 1e-5 * max(1, abs(reference))
            #expect(abs(fast - reference) <= tolerance, "\(type) seed \(seed) fast \(fast) vs \(reference)")
            #expect(abs(portable - reference) <= tolerance, "\(type) seed \(seed) portable \(portable) vs \(reference)")
        }
    }

    @Test("dispatch follows the CPU's flags in /proc/cpuinfo")
    func dispatch() throws {
        let info = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flags = Set(info.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").map(String.init) ?? [])
        let avx2 = flags.contains("avx2") && flags.contains("fma") && flags.contains("f16c")
        let avx512 = avx2 && flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl"])
        #expect(ISA.best(for: .host) == (avx512 ? .avx512 : avx2 ? .avx2 : .portable))
        // The kernel path is the automatic one unless PIPELINE_ISA chose another.
        if ProcessInfo.processInfo.environment["PIPELINE_ISA"] == nil { #expect(QuantizedDot.usesAVX2 == avx2) }
        // Every feature cpuid and xgetbv report is one the kernel lists too (the kernel may list
        // AVX-512 where the OS is told to keep it off; the reverse would be a detection bug).
        for name in CPUFeatures.host.names { #expect(flags.contains(name), "\(name) detected but not in /proc/cpuinfo") }
        for (feature, name) in CPUFeatures.named where feature.isSubset(of: [.avx2, .fma, .f16c]) {
            #expect(CPUFeatures.host.contains(feature) == flags.contains(name), "\(name)")
        }
    }
}
