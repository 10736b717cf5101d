import ArgumentParser
import Foundation
import PipelineMedia

/// `pipeline-bench media`: drives PipelineMedia for scripts/bench-media.
struct MediaBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "media",
        abstract: "Decode a file with PipelineMedia (scripts/bench-media).",
        subcommands: [Video.self, Audio.self])

    /// Decodes and scales every frame; prints `frames=N seconds=S fps=F checksum=C`.
    struct Video: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decode and scale every video frame; prints frames=N seconds=S fps=F checksum=C.")
        @Argument(help: "The video file.") var file: String
        @Option var width = 224
        @Option var height = 224
        @Option(help: "Decoder threads.") var threads = 2
        @Option(help: "Scaler threads.") var scaleThreads = 1
        @Option(help: "Scaler: \(ScaleAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")).")
        var algorithm = "bicubic"

        func validate() throws {
            guard ScaleAlgorithm(rawValue: algorithm) != nil else {
                throw ValidationError("unknown --algorithm '\(algorithm)'; one of \(ScaleAlgorithm.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }

        func run() throws {
            FFmpegLog.setLevel(.error)
            let start = DispatchTime.now().uptimeNanoseconds
            let options = VideoDecodeOptions(width: width, height: height, algorithm: ScaleAlgorithm(rawValue: algorithm)!,
                                             threads: threads, scaleThreads: scaleThreads)
            let decoder = try VideoDecoder(path: file, options: options)
            var frames = 0
            var checksum = 0
            while let f = try decoder.next() {
                frames += 1
                checksum &+= Int(f.image.pixels[f.image.pixels.count / 2])
            }
            let secs = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            print(String(format: "frames=%d seconds=%.3f fps=%.1f checksum=%d", frames, secs, Double(frames) / secs, checksum))
        }
    }

    /// Decodes and resamples the whole audio stream; prints `samples=N seconds=S realtime=X`.
    struct Audio: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decode and resample the audio stream; prints samples=N seconds=S realtime=X.")
        @Argument(help: "The audio file.") var file: String
        @Option(help: "Output sample rate.") var rate = 16000
        @Option(help: "Output channels.") var channels = 1

        func run() throws {
            FFmpegLog.setLevel(.error)
            let start = DispatchTime.now().uptimeNanoseconds
            let decoder = try AudioDecoder(path: file, options: .init(sampleRate: rate, channels: channels))
            var samples = 0
            while let c = try decoder.next() { samples += c.samples.count }
            let secs = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let audioSeconds = Double(samples) / Double(decoder.sampleRate * decoder.channels)
            print(String(format: "samples=%d seconds=%.3f realtime=%.1f", samples, secs, audioSeconds / secs))
        }
    }
}
