import Foundation
import PipelineTesting
import Testing
@testable import PipelineMedia

/// Randomly corrupted copies of valid fixtures: every decode must return data
/// or throw a `MediaError` — no crash, no hang, no other error type.
@Suite struct MutationTests {
    static let sources: [(name: String, kind: BadInputTests.Decode)] = [
        ("rgb.png", .image), ("photo.jpg", .image), ("image.webp", .image), ("anim.gif", .image),
        ("image.bmp", .image), ("image.tiff", .image), ("deep.png", .image),
        ("audio.flac", .audio), ("audio.mp3", .audio), ("audio.ogg", .audio), ("audio.m4a", .audio),
        ("audio.opus", .audio), ("stereo.wav", .audio),
        ("video.mp4", .video), ("video.webm", .video), ("video.avi", .video),
    ]
    /// 16 sources × 14 = 224 corrupted files; `PIPELINE_MEDIA_MUTATIONS=N` runs N per source,
    /// `PIPELINE_MEDIA_MUTATION_SEED` changes the seed.
    static let copiesPerSource = ProcessInfo.processInfo.environment["PIPELINE_MEDIA_MUTATIONS"].flatMap(Int.init) ?? 14
    static let seed = ProcessInfo.processInfo.environment["PIPELINE_MEDIA_MUTATION_SEED"].flatMap { UInt64($0) } ?? 0x5EED_2026

    /// One random corruption of `data`.
    static func mutate(_ data: Data, rng: inout SplitMix) -> (Data, String) {
        var d = data
        let n = d.count
        switch Int.random(in: 0..<5, using: &rng) {
        case 0:
            let k = Int.random(in: 1...32, using: &rng)
            for _ in 0..<k { d[Int.random(in: 0..<n, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng) }
            return (d, "flip \(k) bytes")
        case 1:
            let cut = Int.random(in: 0..<n, using: &rng)
            return (d.prefix(cut), "truncate at \(cut)")
        case 2:
            let start = Int.random(in: 0..<n, using: &rng)
            let len = min(n - start, Int.random(in: 1...2048, using: &rng))
            d.replaceSubrange(start..<(start + len), with: Data(count: len))
            return (d, "zero \(len) at \(start)")
        case 3:
            let len = min(n, Int.random(in: 4...96, using: &rng))
            let start = Int.random(in: 0...min(64, n - len), using: &rng)
            for i in start..<(start + len) { d[i] = UInt8.random(in: 0...255, using: &rng) }
            return (d, "randomise header \(len) at \(start)")
        default:
            let a = Int.random(in: 0..<n, using: &rng)
            let len = min(n - a, Int.random(in: 1...4096, using: &rng))
            let at = Int.random(in: 0..<n, using: &rng)
            d.insert(contentsOf: d.subdata(in: a..<(a + len)), at: at)
            return (d, "duplicate \(len) bytes to \(at)")
        }
    }

    static func decode(_ kind: BadInputTests.Decode, _ path: String, strict: Bool) throws -> Int {
        switch kind {
        case .image:
            return try ImageDecoder.decode(path: path, options: .init(strict: strict)).pixels.count
        case .audio:
            return try AudioDecoder.decode(path: path, options: .init(sampleRate: 16000, channels: 1, strict: strict)).samples.count
        case .video:
            let d = try VideoDecoder(path: path, options: .init(width: 32, height: 32, threads: 2, strict: strict))
            var n = 0
            while let f = try d.next() { n += f.image.pixels.count }
            return n
        }
    }

    @Test(.timeLimit(.minutes(5)))
    func corruptedCopiesNeverCrashOrHang() throws {
        let fx = try Fixtures.get()
        FFmpegLog.setLevel(.quiet)
        defer { FFmpegLog.setLevel(.info) }
        var rng = SplitMix(seed: Self.seed)
        var decoded = 0, failed = 0, total = 0
        for (name, kind) in Self.sources {
            let original = try Data(contentsOf: URL(fileURLWithPath: fx.p(name)))
            for i in 0..<Self.copiesPerSource {
                let (bad, what) = Self.mutate(original, rng: &rng)
                let path = try fx.write("mut-\(i)-\(name)", bad)
                let began = Date()
                do {
                    _ = try Self.decode(kind, path, strict: i % 2 == 0)
                    decoded += 1
                } catch let e as MediaError {
                    #expect(e.path == path, "\(what): error without the path: \(e)")
                    failed += 1
                } catch {
                    Issue.record("\(name) \(what): non-media error \(error)")
                }
                let took = Date().timeIntervalSince(began)
                #expect(took < 20, "\(name) \(what) took \(took) s")
                total += 1
                try? FileManager.default.removeItem(atPath: path)
            }
        }
        #expect(total >= min(200, Self.sources.count * Self.copiesPerSource))
        print("mutation: \(total) corrupted files, \(decoded) decoded, \(failed) rejected with MediaError")
    }
}
