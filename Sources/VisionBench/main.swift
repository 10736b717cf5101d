// vision-bench: times EfficientNet-Lite0 for scripts/bench-vision.
//
//   vision-bench <model.safetensors> <images.f32> [--batch 8] [--threads 2] [--runs 3]
//
// images.f32 holds N prepared images, float32 [N, 3, 224, 224]. Runs them through the
// network `--batch` at a time, `--runs` times after one warm-up, and prints
// `images=N seconds=S rate=R` for the best run on stdout.
import BenchSupport
import Foundation
import PipelineModels
import PipelineTensor

let arguments = BenchArguments()
arguments.require(2, usage: "vision-bench <model.safetensors> <images.f32> [--batch 8] [--threads 2] [--runs 3]")
let positional = arguments.positional, options = arguments.options

do {
    // --threads bounds both compute pools: OpenBLAS and the worker pool.
    WorkerPool.setThreads(options["threads"] ?? 2)
    BLAS.setThreads(WorkerPool.threads)
    let model = try EfficientNetModel(path: positional[0])
    let bytes = try Data(contentsOf: URL(fileURLWithPath: positional[1]))
    let side = model.config.imageSize, perImage = 3 * side * side
    let floats = bytes.withUnsafeBytes { raw in (0..<bytes.count / 4).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
    let count = floats.count / perImage
    guard count > 0 else { throw EfficientNetError.badInput(reason: "no images in \(positional[1])") }
    let batch = max(1, options["batch"] ?? 8)
    func pass() throws {
        for start in stride(from: 0, to: count, by: batch) {
            let n = min(batch, count - start)
            _ = try model.forward(Array(floats[start * perImage..<(start + n) * perImage]), images: n, height: side, width: side)
        }
    }
    try pass()
    let best = try bestSeconds(runs: arguments.runs, pass)
    print("images=\(count) seconds=\(String(format: "%.4f", best)) rate=\(String(format: "%.1f", Double(count) / best))")
} catch {
    fail("vision-bench", error)
}
