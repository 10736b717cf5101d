import ArgumentParser
import Foundation
import PipelineModels

/// `pipeline-bench vision`: times EfficientNet-Lite0 for scripts/bench-vision.
///
/// The images file holds N prepared images, float32 [N, 3, 224, 224]. Runs them through the
/// network `--batch` at a time, `--runs` times after one warm-up, and prints
/// `images=N seconds=S rate=R` for the best run.
struct VisionBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vision",
        abstract: "Time EfficientNet-Lite0 on prepared images (scripts/bench-vision).")
    @Argument(help: "The model (.safetensors).") var model: String
    @Argument(help: "Prepared images, raw float32 [N, 3, 224, 224].") var images: String
    @Option(help: "Images per forward pass.") var batch = 8
    @OptionGroup var compute: ComputeOptions

    func run() throws {
        compute.applyThreads(default: 2)
        let model = try EfficientNetModel(path: self.model)
        let floats = try readFloats(images)
        let side = model.config.imageSize, perImage = 3 * side * side
        let count = floats.count / perImage
        guard count > 0 else { throw EfficientNetError.badInput(reason: "no images in \(images)") }
        let batch = max(1, self.batch)
        func pass() throws {
            for start in stride(from: 0, to: count, by: batch) {
                let n = min(batch, count - start)
                _ = try model.forward(Array(floats[start * perImage..<(start + n) * perImage]), images: n, height: side, width: side)
            }
        }
        try pass()
        let best = try bestSeconds(runs: compute.timedRuns, pass)
        print("images=\(count) seconds=\(String(format: "%.4f", best)) rate=\(String(format: "%.1f", Double(count) / best))")
    }
}
