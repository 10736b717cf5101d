import CKernels

/// The kernel path: which instruction set every SIMD kernel in CKernels uses. Chosen once per
/// process, from `--isa` on the CLI or the `PIPELINE_ISA` environment variable, else the fastest
/// path this CPU runs; the C side (isa.c) holds the choice and every kernel asks it.
public enum ISA: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Plain C: the twins the SIMD kernels are tested against.
    case portable
    /// AVX2 with FMA and F16C: the kernels bit-exact with llama.cpp's AVX2 build.
    case avx2
    /// AVX-512 F/BW/VL (with the AVX2 set): the decoder's float kernels in the order of
    /// llama.cpp's native build on an AVX-512 CPU (llm_avx512.c), the AVX2 kernels elsewhere.
    case avx512

    /// What a user may ask for: a path, or `auto`.
    public static let choices = ["auto", "avx2", "avx512", "portable"]

    /// The features a path needs.
    public var required: CPUFeatures {
        switch self {
        case .portable: return []
        case .avx2: return [.avx2, .fma, .f16c]
        case .avx512: return [.avx2, .fma, .f16c, .avx512f, .avx512bw, .avx512vl]
        }
    }

    /// True where kernels for the path are built (every path, in this version). A path that
    /// is not built is refused by name (`ISAError.notBuilt`).
    public var isBuilt: Bool { true }

    var code: Int32 {
        switch self {
        case .portable: return Int32(PL_ISA_PORTABLE)
        case .avx2: return Int32(PL_ISA_AVX2)
        case .avx512: return Int32(PL_ISA_AVX512)
        }
    }

    init?(code: Int32) {
        guard let isa = ISA.allCases.first(where: { $0.code == code }) else { return nil }
        self = isa
    }

    public var description: String { rawValue }

    /// The path kernels take on the calling thread.
    public static var current: ISA { ISA(code: pl_isa_current()) ?? .portable }

    /// The fastest built path for `features` (what `auto` picks).
    public static func best(for features: CPUFeatures) -> ISA {
        if ISA.avx512.required.isSubset(of: features) { return .avx512 }
        return ISA.avx2.required.isSubset(of: features) ? .avx2 : .portable
    }

    /// The path a request names, checked against `features`. `source` says where the value came
    /// from (`--isa`, `PIPELINE_ISA`) for the error.
    public static func resolve(_ value: String, from source: String, features: CPUFeatures = .host) throws(ISAError) -> ISA {
        if value == "auto" { return best(for: features) }
        guard let isa = ISA(rawValue: value) else { throw .unknown(value: value, source: source) }
        let missing = isa.required.subtracting(features)
        if !missing.isEmpty { throw .missingFeatures(isa: isa, missing: missing, has: features, source: source) }
        if !isa.isBuilt { throw .notBuilt(isa: isa, has: features, source: source) }
        return isa
    }

    /// The path for a CLI run: `flag` (the `--isa` value) when given, else `PIPELINE_ISA`, else auto.
    public static func resolve(flag: String?, environment: [String: String], features: CPUFeatures = .host) throws(ISAError) -> ISA {
        if let flag { return try resolve(flag, from: "--isa", features: features) }
        if let value = environment["PIPELINE_ISA"] { return try resolve(value, from: "PIPELINE_ISA", features: features) }
        return best(for: features)
    }

    /// Makes `isa` the path of every thread in the process (one that `resolve` returned).
    public static func activate(_ isa: ISA) {
        precondition(pl_isa_set(isa.code) != 0, "ISA.activate: \(isa) is not usable here")
    }

    /// Runs `body` with the kernels on this thread forced to `isa` (tests comparing a SIMD
    /// kernel with its portable twin); other threads keep the process path.
    public static func withThreadPath<T>(_ isa: ISA, _ body: () throws -> T) rethrows -> T {
        let previous = pl_isa_thread_path()
        pl_isa_force_thread(isa.code)
        defer { pl_isa_force_thread(previous) }
        return try body()
    }
}

/// Why a requested kernel path cannot be used; each names where the request came from.
public enum ISAError: Error, Equatable, CustomStringConvertible {
    case unknown(value: String, source: String)
    case missingFeatures(isa: ISA, missing: CPUFeatures, has: CPUFeatures, source: String)
    case notBuilt(isa: ISA, has: CPUFeatures, source: String)

    public var description: String {
        switch self {
        case .unknown(let value, let source):
            return "\(Self.origin(source, value)): unknown instruction set; expected one of \(ISA.choices.joined(separator: ", "))"
        case .missingFeatures(let isa, let missing, let has, let source):
            return "\(Self.origin(source, isa.rawValue)): this CPU lacks \(missing.names.joined(separator: ", ")) "
                + "(it has: \(has)); use auto, avx2 or portable"
        case .notBuilt(let isa, let has, let source):
            return "\(Self.origin(source, isa.rawValue)): this CPU has the features (\(has)), but the \(isa) kernels "
                + "are not built yet; use auto or avx2"
        }
    }

    private static func origin(_ source: String, _ value: String) -> String {
        source.hasPrefix("-") ? "\(source) \(value)" : "\(source)=\(value)"
    }

    public static func == (a: ISAError, b: ISAError) -> Bool { a.description == b.description }
}
