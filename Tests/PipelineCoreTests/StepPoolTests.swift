import Foundation
import PipelineCore
import PipelineTesting
import Synchronization
import Testing

/// The step pool under pressure: few threads, nodes that wait or run long. (Graphs of
/// thousands of nodes and the thread count: `ScaleCLITests`.)
@Suite("Step pool")
struct StepPoolTests {
    @Test("one pool thread: a node that emits many packets per input into small edges neither deadlocks nor loses any")
    func burstsOnOneThread() throws {
        let box = "burst-\(UUID())"
        let (summary, _) = try runPipeline(
            """
            version: 1
            nodes:
              - { id: src, type: gen.sequence, with: { count: 40 } }
              - { id: a, type: test.repeat, inputs: { in: src.value }, with: { times: 50 }, queue: { capacity: 2 } }
              - { id: b, type: test.repeat, inputs: { in: a.out }, with: { times: 3 }, queue: { capacity: 2 } }
              - { id: c, type: util.identity, concurrency: 3, inputs: { in: b.out }, queue: { capacity: 2 } }
              - { id: out, type: test.collect, inputs: { in: c.out }, with: { box: "\(box)" }, queue: { capacity: 2 } }
            """, options: RunOptions(watchdogSeconds: 0, threads: 1))
        #expect(summary.succeeded)
        let got = Boxes.take(box)
        #expect(got.count == 40 * 50 * 3)
        // Order kept per item (c restores it across its copies).
        for k in 0..<40 {
            let seqs = got.filter { $0.item.id == "n\(k)" }.map(\.sequence)
            #expect(seqs == Array(0..<150), "item n\(k)")
        }
    }

    @Test("one pool thread: a node that sleeps inside process does not hold up a branch beside it")
    func longStepDoesNotStarve() throws {
        let fast = "fast-\(UUID())"
        let seenWhileAsleep = Mutex(-1)
        let (summary, _) = try runPipeline(
            """
            version: 1
            nodes:
              - { id: src, type: gen.sequence, with: { count: 100 } }
              - { id: sleepy, type: test.stall, inputs: { in: src.value }, with: { on: 0, seconds: 1.5 } }
              - { id: quick, type: util.identity, inputs: { in: src.value } }
              - { id: out, type: test.collect, inputs: { in: quick.out }, with: { box: "\(fast)" } }
            """, options: RunOptions(watchdogSeconds: 0, threads: 1),
            during: { _ in
                Thread.sleep(forTimeInterval: 0.8)
                seenWhileAsleep.withLock { $0 = Boxes.count(fast) }
            })
        #expect(summary.succeeded)
        #expect(seenWhileAsleep.withLock { $0 } == 100)
        #expect(Boxes.take(fast).count == 100)
    }

    @Test("256 copies of four nodes (the cap was once 200 in all) keep input order")
    func manyCopies() throws {
        let box = "copies-\(UUID())"
        let (summary, _) = try runPipeline(
            """
            version: 1
            nodes:
              - { id: src, type: gen.sequence, with: { count: 2000 } }
              - { id: a, type: util.identity, concurrency: 64, inputs: { in: src.value } }
              - { id: b, type: util.identity, concurrency: 64, inputs: { in: a.out } }
              - { id: c, type: util.identity, concurrency: 64, inputs: { in: b.out } }
              - { id: d, type: util.identity, concurrency: 64, inputs: { in: c.out } }
              - { id: out, type: test.collect, inputs: { in: d.out }, with: { box: "\(box)" } }
            """)
        #expect(summary.succeeded)
        #expect(Boxes.take(box).map { $0.value.intValue! } == Array(0..<2000))
    }

    @Test("a source that emits slowly or in a burst into a busy node: no packet waits for the source's next emit")
    func slowSourceIsNotHeldBack() throws {
        // The consumer sleeps 5 ms per packet, so it is busy when packets 1-3 leave (1 ms
        // after the first, then two back to back). A source used to keep such packets for a
        // batch until its next emit, here 400 ms later. Each should instead reach the sink
        // after the packets ahead of it (about 5 ms each), far below the 400 ms pause.
        let box = "lag-\(UUID())"
        let (summary, _) = try runPipeline(
            """
            version: 1
            nodes:
              - { id: src, type: test.paced, with: { gaps_ms: [0, 1, 0, 0, 400] } }
              - { id: busy, type: test.sleep, inputs: { in: src.out }, with: { ms: 5 } }
              - { id: out, type: test.lag, inputs: { in: busy.out }, with: { box: "\(box)" } }
            """, options: RunOptions(watchdogSeconds: 0))
        #expect(summary.succeeded)
        let lags = Lags.take(box)
        #expect(lags.map(\.sequence) == [0, 1, 2, 3, 4])
        for lag in lags.prefix(4) {
            #expect(lag.nanos < 200_000_000, "packet \(lag.sequence) took \(lag.nanos / 1_000_000) ms")
        }
    }
}
