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

    @Test func slowConsumerOf1080pStaysBounded() throws {
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
