// swift-tools-version: 6.1
import PackageDescription

/// Settings every target shares: Swift 6 language mode plus the upcoming features
/// that keep existentials and imports explicit.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "pipeline",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "pipeline", targets: ["PipelineCLI"]),
        .library(name: "PipelineCore", targets: ["PipelineCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
    ],
    targets: [
        // Values, graph model, YAML loading with marks, validation, scheduler, node API.
        .target(
            name: "PipelineCore",
            dependencies: [.product(name: "Yams", package: "Yams")],
            // The scheduler's hot path touches per-copy state that only its own thread
            // owns; dynamic exclusivity checks there cost about 8% of a hop.
            swiftSettings: swiftSettings + [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
        ),
        // SQLite (Debian's libsqlite3) for the watch ledger.
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // PostgreSQL's client library (Debian's libpq) for the scale-out queue and ledger.
        .systemLibrary(
            name: "CPostgres",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        // Watching folders: inotify, settle rules and the durable exactly-once ledger.
        .target(
            name: "PipelineWatch",
            dependencies: ["PipelineCore", "CSQLite", "CPostgres", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        // Built-in nodes, registered in one visible list.
        .target(
            name: "PipelineNodes",
            dependencies: ["PipelineCore", "PipelineWatch", "PipelineMedia", "PipelineModels"],
            swiftSettings: swiftSettings
        ),
        // Users' own nodes: every conforming type in nodes/*.swift is registered by the plugin.
        .target(
            name: "CustomNodes",
            dependencies: ["PipelineCore"],
            path: "nodes",
            exclude: ["README.md"],
            swiftSettings: swiftSettings,
            plugins: ["NodeRegistryPlugin"]
        ),
        .executableTarget(
            name: "NodeRegistryGenerator",
            swiftSettings: swiftSettings
        ),
        .plugin(
            name: "NodeRegistryPlugin",
            capability: .buildTool(),
            dependencies: ["NodeRegistryGenerator"]
        ),
        // FFmpeg 5.1 (libavformat, libavcodec, libswscale, libswresample, libavutil) as a C module.
        .systemLibrary(
            name: "CFFmpeg",
            pkgConfig: "libavformat",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libswscale-dev", "libswresample-dev", "libavutil-dev"])]
        ),
        // Media decode, scale, resample and write on FFmpeg; knows nothing of the engine core.
        .target(
            name: "PipelineMedia",
            dependencies: ["CFFmpeg"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PipelineMediaTests",
            dependencies: ["PipelineMedia", "PipelineTesting"],
            swiftSettings: swiftSettings
        ),
        // Hot loops in C with SIMD chosen at run time (AVX2/FMA/F16C), each with a portable twin.
        .target(
            name: "CKernels",
            cSettings: [.unsafeFlags(["-O3"])],
            linkerSettings: [.linkedLibrary("m")]
        ),
        // OpenBLAS (Debian's libopenblas-dev, pthread build) for single-precision GEMM.
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // Tensors and kernels: quant block layouts, dequantization, dot products, BLAS.
        .target(
            name: "PipelineTensor",
            dependencies: ["CKernels", "COpenBLAS"],
            // Optimised in debug builds too: tests run real models through these loops.
            swiftSettings: swiftSettings + [.unsafeFlags(["-O"], .when(configuration: .debug))]
        ),
        .testTarget(
            name: "PipelineTensorTests",
            dependencies: ["PipelineTensor"],
            swiftSettings: swiftSettings
        ),
        // Model files (GGUF, safetensors), tokenizers and architectures. Knows nothing of the engine core.
        .target(
            name: "PipelineModels",
            dependencies: ["PipelineTensor"],
            swiftSettings: swiftSettings + [.unsafeFlags(["-O"], .when(configuration: .debug))]
        ),
        .testTarget(
            name: "PipelineModelsTests",
            // PipelineMedia decodes the EfficientNet goldens' PNG inputs.
            dependencies: ["PipelineModels", "PipelineTensor", "PipelineMedia", "PipelineTesting"],
            exclude: ["Golden"],
            swiftSettings: swiftSettings
        ),
        // libFuzzer targets for the parsers of untrusted bytes (scripts/fuzz TARGET SECONDS builds
        // them with --sanitize=fuzzer); a plain build makes a replayer of inputs through a target.
        .executableTarget(
            name: "pipeline-fuzz",
            dependencies: ["PipelineCore", "PipelineNodes", "PipelineMedia", "PipelineModels"],
            path: "Sources/PipelineFuzz",
            swiftSettings: swiftSettings
        ),
        // The benchmark drivers scripts/bench-* run, one executable with a subcommand each
        // (media, text, vision, speech, vad, grammar, prompt) on ArgumentParser.
        .executableTarget(
            name: "pipeline-bench",
            dependencies: [
                "PipelineCore", "PipelineNodes", "PipelineMedia", "PipelineModels", "PipelineTensor",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/Benchmarks",
            swiftSettings: swiftSettings
        ),
        // The command-line tool.
        .executableTarget(
            name: "PipelineCLI",
            dependencies: [
                "PipelineCore", "PipelineNodes", "PipelineWatch", "PipelineModels", "CustomNodes",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // Test support: a harness that drives one node without the scheduler.
        .target(
            name: "PipelineTesting",
            dependencies: ["PipelineCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PipelineCoreTests",
            dependencies: ["PipelineCore", "PipelineNodes", "CustomNodes", "PipelineTesting"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PipelineWatchTests",
            dependencies: ["PipelineWatch", "PipelineNodes", "PipelineTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PipelineNodesTests",
            dependencies: ["PipelineNodes", "PipelineTesting", "PipelineMedia", "PipelineModels"],
            exclude: ["Golden"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PipelineCLITests",
            dependencies: ["PipelineCore", "PipelineNodes", "PipelineWatch", "PipelineTesting"],
            swiftSettings: swiftSettings
        ),
    ]
)
