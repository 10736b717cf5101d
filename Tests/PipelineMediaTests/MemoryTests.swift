import Foundation
import Testing
@testable import PipelineMedia

/// Streaming keeps memory bounded: a slow consumer of full-rate 1080p frames
/// holds one output frame plus the decoder's delay, not the whole video.
@Suite struct MemoryTests {
    /// Resident set size of this process in bytes (from /proc/self/statm).
    static func rss() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
    }

    /// The name of the variable that makes a test process the child that measures.
    static let childVariable = "PIPELINE_MEMORY_CHILD"

    /// RSS is per process and the other suites load models beside this one, so the measuring
    /// runs in a child process of this test binary that runs nothing else.
    @Test func slowConsumerOf1080pStaysBounded() throws {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments = ["--testing-library", "swift-testing", "--filter", "streamingMeasuredAlone"]
        child.environment = ProcessInfo.processInfo.environment.merging([Self.childVariable: "1"]) { $1 }
        let pipe = Pipe()
        child.standardOutput = pipe
        child.standardError = pipe
        try child.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        child.waitUntilExit()
        let summary = output.split(separator: "\n").filter { $0.contains("memory:") || $0.contains("RSS grew") || $0.contains("Test run") }
        #expect(child.terminationStatus == 0, "the measuring child failed:\n\(summary.joined(separator: "\n"))")
        #expect(output.contains("RSS growth"), "the measuring child did not measure:\n\(output.suffix(2000))")
        print(summary.filter { $0.hasPrefix("memory:") }.joined(separator: "\n"))
    }

    @Test("streaming 1080p frames, measured in a process of its own", .enabled(if: ProcessInfo.processInfo.environment[Self.childVariable] != nil))
    func streamingMeasuredAlone() throws {
        let fx = try Fixtures.get()
        let d = try VideoDecoder(path: fx.p("long1080.mp4"), options: .init(threads: 2))
        var frames = 0
        var baseline = 0
        var peak = 0
        while let f = try d.next() {
            frames += 1
            #expect(f.image.width == 1920 && f.image.height == 1080)
            usleep(3000)  // a deliberately slow node
            if frames == 5 { baseline = Self.rss() }
            if frames > 5 { peak = max(peak, Self.rss()) }
        }
        #expect(frames == 120)
        let growthMB = Double(peak - baseline) / 1_048_576
        // All 120 RGB frames would be 746 MB; streaming must stay far below.
        // (Sanitizer runs keep freed memory in quarantine: raise the limit with
        // PIPELINE_MEDIA_RSS_LIMIT_MB there.)
        let limit = ProcessInfo.processInfo.environment["PIPELINE_MEDIA_RSS_LIMIT_MB"].flatMap(Double.init) ?? 150
        #expect(growthMB < limit, "RSS grew \(growthMB) MB while streaming 120 1080p frames")
        print("memory: 120 frames of 1920x1080 RGB (746 MB in total) streamed, RSS growth \(String(format: "%.1f", growthMB)) MB")
    }
}
