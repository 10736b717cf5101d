import Foundation
import Testing

@testable import PipelineWatch

/// Hashing a large file: ours (swift-crypto) beside `sha256sum`, alternating, the digests equal.
/// By default a 32 MiB file (the digest check); PIPELINE_HASH_BENCH=1 makes it the 2 GiB timing
/// run, and PIPELINE_HASH_BENCH_MB sets the size.
@Suite("SHA-256 speed")
struct HashSpeedTests {
    static var bench: Bool { ProcessInfo.processInfo.environment["PIPELINE_HASH_BENCH"] == "1" }

    @Test("a large file: the same digest as sha256sum, and the time of each")
    func largeFile() throws {
        let megabytes = Int(ProcessInfo.processInfo.environment["PIPELINE_HASH_BENCH_MB"] ?? "") ?? (Self.bench ? 2048 : 32)
        let path = temporaryDirectory("hash-bench") + "/blob"
        let make = Process()
        make.executableURL = URL(fileURLWithPath: "/bin/sh")
        make.arguments = ["-c", "head -c \(megabytes)M /dev/urandom > '\(path)'"]
        try make.run()
        make.waitUntilExit()
        defer { try? FileManager.default.removeItem(atPath: path) }

        func seconds(_ body: () throws -> String) rethrows -> (Double, String) {
            let start = DispatchTime.now().uptimeNanoseconds
            let digest = try body()
            return (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, digest)
        }
        func sha256sum() throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
            process.arguments = [path]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return String(out.prefix(64))
        }
        let expected = try sha256sum()
        var ours: [Double] = [], theirs: [Double] = []
        for round in 0..<3 {
            let runOurs = { () throws -> Void in
                let (t, d) = try seconds { try SHA256.file(path) }
                ours.append(t)
                #expect(d == expected)
            }
            let runTheirs = { () throws -> Void in theirs.append(try seconds(sha256sum).0) }
            if round % 2 == 0 { try runOurs(); try runTheirs() } else { try runTheirs(); try runOurs() }
        }
        func line(_ name: String, _ t: [Double]) -> String {
            let sorted = t.sorted()
            return String(format: "%@ median %.2f s (%.0f MB/s), best %.2f s", name, sorted[1],
                Double(megabytes) * 1.048576 / sorted[1], sorted[0])
        }
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?.split(separator: ":").last ?? ""
        print("sha256: \(megabytes) MiB, \(cpu): " + line("ours", ours) + "; " + line("sha256sum", theirs))
    }
}
