import Foundation
import PipelineCore
import PipelineNodes
import PipelineTesting
import Synchronization
import Testing

/// Loads YAML against built-in and test nodes and runs it to the end.
func runPipeline(
    _ yaml: String, options: RunOptions = RunOptions(), events: (@Sendable (RunEvent) -> Void)? = nil,
    during: ((PipelineRun) -> Void)? = nil
) throws -> (RunSummary, PipelineRun) {
    let registry = NodeRegistry(BuiltinNodes.all, TestNodes.all)
    let graph = try PipelineLoader(registry: registry).load(text: yaml, file: "test.yaml")
    let run = try PipelineRun(graph: graph, options: options, observer: events ?? { _ in })
    run.start()
    during?(run)
    return (run.wait(), run)
}

/// Collects run events for assertions.
final class EventLog: Sendable {
    let events = Mutex<[RunEvent]>([])
    var handler: @Sendable (RunEvent) -> Void { { [self] e in events.withLock { $0.append(e) } } }
    var stalls: [String] {
        events.withLock { $0.compactMap { if case .stall(let s) = $0 { return s } else { return nil } } }
    }
    var failures: [(node: String, item: String?, message: String)] {
        events.withLock {
            $0.compactMap {
                if case let .failure(node, item, message) = $0 { return (node, item, message) } else { return nil }
            }
        }
    }
}

@Suite("Scheduler")
struct SchedulerTests {
    @Test("concurrency: 4 with random delays keeps input order")
    func orderedConcurrency() throws {
        let box = "ordered-\(UUID())"
        let (summary, _) = try runPipeline(
            """
            version: 1
            nodes:
              - { id: src, type: gen.sequence, with: { count: 300 } }
              - { id: work, type: test.random_delay, concurrency: 4, inputs: { in: src.value }, with: { max_ms: 3 } }
              - { id: out, type: test.collect, inputs: { in: work.out }, with: { box: "\(box)" } }
            """)
        #expect(summary.succeeded)
        let values = Boxes.take(box).map { $0.value.intValue! }
        #expect(values == Array(0..<300))
        // Four copies really ran side by side: busy time adds up to more than the wall time.
        let work = summary.nodes.first { $0.id == "work" }!
        #expect(work.busySeconds > summary.seconds * 1.5)
    }

    @Test("ordered: false delivers every packet, in whatever order copies finish")
    func unorderedConcurrency() throws {
        let box = "unordered-\(UUID())"
        let (summary, _) = try runPipeline(
            """
            version: 1
            nodes:
              - { id: src, type: gen.sequence, with: { count: 200 } }
              - { id: work, type: test.random_delay, concurrency: 4, ordered: false, inputs: { in: src.value }, with: { max_ms: 2 } }
              - { id: out, type: test.collect, inputs: { in: work.out }, with: { box: "\(box)" } }
            """)
        #expect(summary.succeeded)
        #expect(Set(Boxes.take(box).map { $0.value.intValue! }) == Set(0..<200))
    }

    @Test("a fast source into a 100x slower node keeps every queue within capacity")
    func backPressure() throws {
        TrackedPayload.reset()
        let (summary, _) = try runPipeline(
            """
            version: 1
            nodes:
              - { id: src, type: gen.sequence, with: { count: 400 } }
              - { id: big, type: test.inflate, inputs: { in: src.value }, with: { bytes: 1000000 }, queue: { capacity: 4 } }
              - { id: slow, type: util.delay, inputs: { in: big.out }, with: { ms: 1 }, queue: { capacity: 4 } }
              - { id: id2, type: util.identity, inputs: { in: slow.out }, queue: { capacity: 4 } }
            """)
        #expect(summary.succeeded)
        #expect(summary.itemsOK == 400)
        for edge in summary.edges {
            #expect(edge.highWater <= edge.capacity, "\(edge.edge) reached \(edge.highWater)/\(edge.capacity)")
            #expect(edge.dropped == 0)
        }
        // 400 MB pass through, but per edge at most three queues' worth is alive at once:
        // the producer's flush buffer (capped at the capacity), the queue, and the batch the
        // consumer took. Two edges carry payloads: 2 x 3 x 4, plus the one being built.
        #expect(TrackedPayload.peak.load(ordering: .relaxed) <= 25)
        #expect(TrackedPayload.live.load(ordering: .relaxed) == 0)
    }

    @Test("an error on one item does not stop the others")
    func itemErrorsAreIsolated() throws {
        let box = "errors-\(UUID())"
        let log = EventLog()
        let (summary, _) = try runPipeline(
            """
            version: 1
            nodes:
              - { id: src, type: gen.sequence, with: { count: 50 } }
              - { id: check, type: test.fail_on, inputs: { in: src.value }, with: { values: [3, 17] } }
              - { id: out, type: test.collect, inputs: { in: check.out }, with: { box: "\(box)" } }
            """, events: log.handler)
        #expect(!summary.succeeded)
        #expect(summary.outcome == .completed)
        #expect(summary.itemsOK == 48)
        #expect(summary.itemsFailed == 2)
        #expect(Boxes.take(box).count == 48)
        let failures = log.failures.sorted { ($0.item ?? "") < ($1.item ?? "") }
        #expect(failures.map(\.node) == ["check", "check"])
        #expect(failures.map(\.item) == ["n17", "n3"])
        #expect(failures[0].message == "refusing 17")
        #expect(summary.failures.count == 2)
    }

    @Test("on_error: fail stops the whole run")
    func failStopsRun() throws {
        let box = "fail-\(UUID())"
        let (summary, _) = try runPipeline(
            """
            version: 1
            nodes:
              - { id: src, type: gen.sequence, with: { count: 1000000 } }
              - { id: check, type: test.fail_on, on_error: fail, inputs: { in: src.value }, with: { values: [5] } }
              - { id: out, type: test.collect, inputs: { in: check.out }, with: { box: "\(box)" } }
            """)
        #expect(summary.outcome == .aborted)
        #expect(summary.abortReason?.contains("check") == true)
        #expect(Boxes.take(box).count < 1_000_000)
        #expect(summary.seconds < 10)
    }

    @Test("the watchdog names the node that holds a stalled graph")
    func watchdogNamesHolder() throws {
        let log = EventLog()
        let (summary, _) = try runPipeline(
            """
            version: 1
            settings: { watchdog_seconds: 0.4 }
            nodes:
              - { id: src, type: gen.sequence, with: { count: 20 } }
              - { id: stuck, type: test.stall, inputs: { in: src.value }, with: { on: 2, seconds: 2 }, queue: { capacity: 2 } }
              - { id: after, type: util.identity, inputs: { in: stuck.out } }
            """, events: log.handler)
        #expect(summary.succeeded)
        #expect(summary.stalls >= 1)
        let report = try #require(log.stalls.first)
        #expect(report.contains("node 'stuck' (copy 0) has been in process()"))
        #expect(report.contains("on item 'n2'"))
        #expect(report.contains("edge src.value -> stuck.in: 2/2 FULL"))
    }

    @Test("a slow node working through a batch of items that emit nothing is not reported as stalled")
    func watchdogSlowBatch() throws {
        let log = EventLog()
        let (summary, _) = try runPipeline(
            """
            version: 1
            settings: { watchdog_seconds: 0.5 }
            nodes:
              - { id: src, type: gen.sequence, with: { count: 16 } }
              - { id: slow, type: test.sleep, inputs: { in: src.value }, with: { ms: 150 }, queue: { capacity: 8 } }
            """, events: log.handler)
        #expect(summary.succeeded)
        #expect(summary.seconds > 2)
        #expect(summary.stalls == 0, "\(log.stalls)")
    }

    @Test("watchdog_action: fail aborts a stalled run")
    func watchdogFail() throws {
        let (summary, _) = try runPipeline(
            """
            version: 1
            settings: { watchdog_seconds: 0.3, watchdog_action: fail }
            nodes:
              - { id: src, type: gen.sequence, with: { count: 5 } }
              - { id: stuck, type: test.stall, inputs: { in: src.value }, with: { on: 1, seconds: 1.5 } }
            """)
        #expect(summary.outcome == .aborted)
        #expect(summary.abortReason?.hasPrefix("watchdog: no packet moved") == true)
    }

    @Test("stop() drains: no new items start, items in flight finish")
    func stopDrains() throws {
        let box = "drain-\(UUID())"
        let (summary, _) = try runPipeline(
            """
            version: 1
            nodes:
              - { id: src, type: gen.sequence, with: { count: 100000 } }
              - { id: slow, type: util.delay, inputs: { in: src.value }, with: { ms: 2 } }
              - { id: out, type: test.collect, inputs: { in: slow.out }, with: { box: "\(box)" } }
            """,
            during: { run in
                Thread.sleep(forTimeInterval: 0.2)
                run.stop()
            })
        let collected = Boxes.take(box)
        #expect(summary.outcome == .interrupted)
        #expect(summary.itemsUnfinished == 0)
        #expect(summary.itemsFailed == 0)
        #expect(collected.count == summary.itemsOK)
        #expect(collected.count > 10 && collected.count < 1000)
        #expect(collected.map { $0.value.intValue! } == Array(0..<collected.count))
    }

    @Test("a second stop() abandons in-flight work at once")
    func secondStopAborts() throws {
        let (summary, _) = try runPipeline(
            """
            version: 1
            nodes:
              - { id: src, type: gen.sequence, with: { count: 100000 } }
              - { id: slow, type: util.delay, inputs: { in: src.value }, with: { ms: 5 } }
            """,
            during: { run in
                Thread.sleep(forTimeInterval: 0.1)
                run.stop()
                run.stop()
            })
        #expect(summary.outcome == .interrupted)
        #expect(summary.seconds < 2)
    }

    @Test("a node with two inputs joins packets of the same item and sequence")
    func joinPairsByItem() throws {
        let box = "join-\(UUID())"
        let (summary, _) = try runPipeline(
            """
            version: 1
            nodes:
              - { id: src, type: gen.sequence, with: { count: 200 } }
              - { id: fast, type: util.identity, inputs: { in: src.value } }
              - { id: slow, type: test.random_delay, concurrency: 3, inputs: { in: src.value }, with: { max_ms: 1 } }
              - { id: join, type: json.merge, inputs: { a: fast.out, b: slow.out }, with: { keys: [a, b] } }
              - { id: out, type: test.collect, inputs: { in: join.record }, with: { box: "\(box)" } }
            """)
        #expect(summary.succeeded)
        let records = Boxes.take(box)
        #expect(records.count == 200)
        for packet in records {
            #expect(packet.value["a"] == packet.value["b"])
            #expect(packet.item.id == "n\(packet.value["a"]!.intValue!)")
        }
    }

    @Test("a join whose partner never arrives fails that item, once, and nothing else")
    func incompleteJoin() throws {
        let box = "partial-\(UUID())"
        let log = EventLog()
        let (summary, _) = try runPipeline(
            """
            version: 1
            nodes:
              - { id: src, type: gen.sequence, with: { count: 20 } }
              - { id: filter, type: test.drop, inputs: { in: src.value }, with: { values: [4] } }
              - { id: check, type: test.fail_on, inputs: { in: src.value }, with: { values: [9] } }
              - { id: join, type: json.merge, inputs: { a: filter.out, b: check.out }, with: { keys: [a, b] } }
              - { id: out, type: test.collect, inputs: { in: join.record }, with: { box: "\(box)" } }
            """, events: log.handler)
        #expect(Boxes.take(box).count == 18)
        #expect(summary.itemsOK == 18)
        #expect(summary.itemsFailed == 2)
        let byItem = Dictionary(uniqueKeysWithValues: log.failures.map { ($0.item ?? "", $0) })
        #expect(byItem.count == 2)
        #expect(byItem["n9"]?.node == "check")
        #expect(byItem["n4"]?.node == "join")
        #expect(byItem["n4"]?.message.contains("no packet arrived on input 'a'") == true)
    }

    @Test("drop-oldest and latest count every drop", arguments: ["drop-oldest", "latest"])
    func dropPolicies(policy: String) throws {
        let box = "drops-\(policy)-\(UUID())"
        let (summary, _) = try runPipeline(
            """
            version: 1
            nodes:
              - { id: src, type: gen.sequence, with: { count: 500 } }
              - { id: slow, type: util.delay, inputs: { in: src.value }, with: { ms: 1 }, queue: { capacity: 4, policy: \(policy) } }
              - { id: out, type: test.collect, inputs: { in: slow.out }, with: { box: "\(box)" } }
            """)
        let received = Boxes.take(box)
        let edge = summary.edges.first { $0.edge == "src.value -> slow.in" }!
        #expect(edge.dropped > 0)
        #expect(edge.dropped + received.count == 500)
        #expect(summary.packetsDropped == edge.dropped)
        #expect(edge.highWater <= (policy == "latest" ? 1 : 4))
        // What survives keeps its order.
        let values = received.map { $0.value.intValue! }
        #expect(values == values.sorted())
        #expect(values.last == 499)
    }

    @Test("several producer copies close a join's lanes only when all are done")
    func multiCopyProducersIntoJoin() throws {
        let box = "copies-\(UUID())"
        let (summary, _) = try runPipeline(
            """
            version: 1
            nodes:
              - { id: src, type: gen.sequence, with: { count: 300 } }
              - { id: a, type: test.random_delay, concurrency: 3, ordered: false, inputs: { in: src.value }, with: { max_ms: 1 } }
              - { id: b, type: test.random_delay, concurrency: 2, inputs: { in: src.value }, with: { max_ms: 1 } }
              - { id: join, type: json.merge, concurrency: 2, inputs: { a: a.out, b: b.out }, with: { keys: [a, b] } }
              - { id: out, type: test.collect, inputs: { in: join.record }, with: { box: "\(box)" } }
            """)
        #expect(summary.succeeded)
        #expect(Boxes.take(box).count == 300)
    }

    @Test("--trace records one span per node invocation")
    func traceSpans() throws {
        let (_, run) = try runPipeline(
            """
            version: 1
            nodes:
              - { id: src, type: gen.sequence, with: { count: 10 } }
              - { id: id1, type: util.identity, concurrency: 2, inputs: { in: src.value } }
            """, options: RunOptions(trace: true))
        let trace = try Value(jsonText: run.traceJSON())
        let events = try #require(trace["traceEvents"]?.arrayValue)
        let spans = events.filter { $0["ph"] == "X" }
        #expect(spans.filter { $0["name"] == "id1" }.count == 10)
        #expect(spans.filter { $0["name"] == "src" }.count == 1)
        #expect(events.filter { $0["ph"] == "M" }.count == 3)
    }

    @Test("a node that cannot start fails the run before any item")
    func setupError() throws {
        let registry = NodeRegistry(BuiltinNodes.all, TestNodes.all)
        let graph = try PipelineLoader(registry: registry).load(
            text: """
                version: 1
                nodes:
                  - { id: src, type: gen.sequence, with: { count: 1 } }
                  - { id: out, type: sink.jsonl, concurrency: 2, inputs: { record: src.value }, with: { path: /tmp/x.jsonl } }
                """)
        #expect(throws: RunSetupError.self) { try PipelineRun(graph: graph) }
    }

    @Test("a failing source reports its node and the run goes on to the end")
    func sourceFailure() throws {
        let log = EventLog()
        let (summary, _) = try runPipeline(
            """
            version: 1
            nodes:
              - { id: src, type: source.folder, with: { dir: /nonexistent/dir } }
              - { id: out, type: util.identity, inputs: { in: src.path } }
            """, events: log.handler)
        #expect(!summary.succeeded)
        #expect(log.failures.first?.node == "src")
        #expect(log.failures.first?.message == "no such directory: /nonexistent/dir")
    }
}
