// media-bench: drives PipelineMedia for scripts/bench-media.
//
//   media-bench video <file> [--width 224] [--height 224] [--threads 2] [--scale-threads 1] [--algorithm bicubic]
//   media-bench audio <file> [--rate 16000] [--channels 1]
//
// Prints one line `frames=N seconds=S fps=F` (video) or
// `samples=N seconds=S realtime=X` (audio) on stdout.
import Foundation
import PipelineMedia

/// Reads `--name value` options after the positional arguments.
struct BenchArguments {
    var positional: [String] = []
    var options: [String: String] = [:]

    init(_ args: [String]) {
        var i = 0
        while i < args.count {
            if args[i].hasPrefix("--"), i + 1 < args.count {
                options[String(args[i].dropFirst(2))] = args[i + 1]
                i += 2
            } else {
                positional.append(args[i])
                i += 1
            }
        }
    }

    func int(_ name: String, _ fallback: Int) -> Int { options[name].flatMap(Int.init) ?? fallback }
}

let args = BenchArguments(Array(CommandLine.arguments.dropFirst()))
guard args.positional.count == 2 else {
    FileHandle.standardError.write(Data("usage: media-bench video|audio <file> [options]\n".utf8))
    exit(2)
}
let mode = args.positional[0], path = args.positional[1]
FFmpegLog.setLevel(.error)

do {
    let start = DispatchTime.now().uptimeNanoseconds
    switch mode {
    case "video":
        let algorithm = ScaleAlgorithm(rawValue: args.options["algorithm"] ?? "bicubic") ?? .bicubic
        let options = VideoDecodeOptions(width: args.int("width", 224), height: args.int("height", 224),
                                         algorithm: algorithm, threads: args.int("threads", 2),
                                         scaleThreads: args.int("scale-threads", 1))
        let decoder = try VideoDecoder(path: path, options: options)
        var frames = 0
        var checksum = 0
        while let f = try decoder.next() {
            frames += 1
            checksum &+= Int(f.image.pixels[f.image.pixels.count / 2])
        }
        let secs = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        print(String(format: "frames=%d seconds=%.3f fps=%.1f checksum=%d", frames, secs, Double(frames) / secs, checksum))
    case "audio":
        let decoder = try AudioDecoder(path: path, options: .init(sampleRate: args.int("rate", 16000),
                                                                  channels: args.int("channels", 1)))
        var samples = 0
        while let c = try decoder.next() { samples += c.samples.count }
        let secs = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let audioSeconds = Double(samples) / Double(decoder.sampleRate * decoder.channels)
        print(String(format: "samples=%d seconds=%.3f realtime=%.1f", samples, secs, audioSeconds / secs))
    default:
        FileHandle.standardError.write(Data("unknown mode \(mode)\n".utf8))
        exit(2)
    }
} catch {
    FileHandle.standardError.write(Data("media-bench: \(error)\n".utf8))
    exit(1)
}
