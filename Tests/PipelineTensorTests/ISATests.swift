import Testing

@testable import PipelineTensor

/// The one place that chooses the kernel path: parsing a request against a CPU's features,
/// and the per-thread override the twin tests use.
@Suite("Kernel path (ISA)")
struct ISATests {
    static let avx2Only: CPUFeatures = [.avx2, .fma, .f16c]
    static let zen4: CPUFeatures = [.avx2, .fma, .f16c, .avx512f, .avx512bw, .avx512vl, .avx512vnni, .avx512bf16]

    @Test("auto picks the fastest built path for the features")
    func auto() throws {
        #expect(try ISA.resolve("auto", from: "--isa", features: Self.avx2Only) == .avx2)
        #expect(try ISA.resolve("auto", from: "--isa", features: Self.zen4) == .avx512)
        #expect(try ISA.resolve("auto", from: "--isa", features: [.avx512f, .avx512bw, .avx512vl]) == .portable)  // no AVX2 set
        #expect(try ISA.resolve("avx512", from: "--isa", features: Self.zen4) == .avx512)
        #expect(try ISA.resolve("avx2", from: "--isa", features: Self.zen4) == .avx2)
        #expect(try ISA.resolve("auto", from: "--isa", features: [.avx2, .fma]) == .portable)  // no F16C
        #expect(try ISA.resolve("auto", from: "--isa", features: []) == .portable)
        #expect(try ISA.resolve("portable", from: "--isa", features: []) == .portable)
        #expect(try ISA.resolve("avx2", from: "--isa", features: Self.avx2Only) == .avx2)
    }

    @Test("a path the CPU cannot run names the missing features and the source of the request")
    func refused() {
        #expect(throws: ISAError.missingFeatures(isa: .avx512, missing: [.avx512f, .avx512bw, .avx512vl], has: Self.avx2Only,
                                                 source: "--isa")) {
            try ISA.resolve("avx512", from: "--isa", features: Self.avx2Only)
        }
        do {
            _ = try ISA.resolve("avx512", from: "--isa", features: Self.avx2Only)
        } catch {
            #expect(error.description == "--isa avx512: this CPU lacks avx512f, avx512bw, avx512vl (it has: avx2 fma f16c); use auto, avx2 or portable")
        }
        do {
            _ = try ISA.resolve("avx2", from: "PIPELINE_ISA", features: [.avx2])
            Issue.record("avx2 without FMA and F16C accepted")
        } catch {
            #expect(error.description.hasPrefix("PIPELINE_ISA=avx2: this CPU lacks fma, f16c"), "\(error)")
        }
        #expect(throws: ISAError.missingFeatures(isa: .avx512, missing: [.avx512bw], has: [.avx2, .fma, .f16c, .avx512f, .avx512vl],
                                                 source: "PIPELINE_ISA")) {
            try ISA.resolve("avx512", from: "PIPELINE_ISA", features: [.avx2, .fma, .f16c, .avx512f, .avx512vl])
        }
    }

    @Test("unknown values are errors that list the choices", arguments: ["", "AVX2", "avx-2", "sse4", "auto "])
    func unknown(value: String) {
        do {
            _ = try ISA.resolve(flag: nil, environment: ["PIPELINE_ISA": value], features: Self.avx2Only)
            Issue.record("\(value.debugDescription) accepted")
        } catch {
            #expect(error == .unknown(value: value, source: "PIPELINE_ISA"))
            #expect(error.description == "PIPELINE_ISA=\(value): unknown instruction set; expected one of auto, avx2, avx512, portable")
        }
    }

    @Test("the flag wins over the environment, which wins over auto")
    func precedence() throws {
        #expect(try ISA.resolve(flag: "avx2", environment: ["PIPELINE_ISA": "portable"], features: Self.avx2Only) == .avx2)
        #expect(try ISA.resolve(flag: nil, environment: ["PIPELINE_ISA": "portable"], features: Self.avx2Only) == .portable)
        #expect(try ISA.resolve(flag: nil, environment: [:], features: Self.avx2Only) == .avx2)
        // A bad environment value does not matter when the flag decides.
        #expect(try ISA.resolve(flag: "portable", environment: ["PIPELINE_ISA": "bogus"], features: Self.avx2Only) == .portable)
    }

    @Test("a thread override changes this thread's path only, and the x8 kernels follow it")
    func threadOverride() async throws {
        let before = ISA.current
        let inside = ISA.withThreadPath(.portable) { ISA.current }
        #expect(inside == .portable)
        #expect(ISA.current == before)
        if ISA.best(for: .host) == .avx2 {
            #expect(ISA.withThreadPath(.avx2) { ISA.current } == .avx2)
            // A path the CPU does not run is ignored, not forced.
            #expect(ISA.withThreadPath(.avx512) { ISA.current } == before)
        }
        if ISA.best(for: .host) == .avx512 {
            #expect(ISA.withThreadPath(.avx512) { ISA.current } == .avx512)
            #expect(ISA.withThreadPath(.avx2) { ISA.current } == .avx2)
        }
        // Another thread keeps the process path while this one is overridden.
        let other = await ISA.withThreadPath(.portable) { Task.detached { ISA.current } }.value
        #expect(other == before)
    }
}
