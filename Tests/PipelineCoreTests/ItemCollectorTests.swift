import Foundation
import PipelineCore
import PipelineNodes
import PipelineTesting
import Testing

/// The scheduler's item completion for `ItemCollector` nodes (json.collect): each item is
/// handed over as soon as none of its packets can reach the collector any more.
@Suite("Item collectors")
struct ItemCollectorTests {
    @Test("one record per item with all its values in sequence order, each before the next item starts")
    func collectsEachItem() throws {
        let box = "collect-\(UUID())"
        let (summary, _) = try runPipeline(
            """
            version: 1
            nodes:
              - { id: src, type: test.items, with: { count: 4, per_item: 6, wait: true } }
              - { id: shuffle, type: test.random_delay, concurrency: 3, ordered: false, inputs: { in: src.out }, with: { max_ms: 2 } }
              - { id: col, type: json.collect, inputs: { value: shuffle.out }, with: { key: values } }
              - { id: out, type: test.collect, inputs: { in: col.record }, with: { box: "\(box)" } }
            """)
        #expect(summary.succeeded, "\(summary.failures)")
        let records = Boxes.take(box)
        #expect(records.map(\.item.id) == ["i0", "i1", "i2", "i3"])
        for (k, packet) in records.enumerated() {
            #expect(packet.value["item"] == .string("i\(k)"))
            #expect(packet.value["values"] == .array((0..<6).map { .int(100 * k + $0) }))
            #expect(packet.sequence == 0)
        }
        #expect(summary.itemsOK == 4)
    }

    @Test("a sibling branch joined with the collector's record does not hold the item back")
    func joinWithSibling() throws {
        let box = "sibling-\(UUID())"
        let (summary, _) = try runPipeline(
            """
            version: 1
            nodes:
              - { id: src, type: test.items, with: { count: 3, per_item: 5, wait: true } }
              - { id: col, type: json.collect, inputs: { value: src.out }, with: { key: frames, item_key: video, timestamp_key: t } }
              - { id: join, type: json.merge, inputs: { a: col.record, b: src.head }, with: { keys: ["", head] } }
              - { id: out, type: test.collect, inputs: { in: join.record }, with: { box: "\(box)" } }
            """)
        #expect(summary.succeeded, "\(summary.failures)")
        let records = Boxes.take(box).map(\.value)
        #expect(records.count == 3)
        #expect(records.first?["video"] == "i0" && records.first?["head"] == 0)
        #expect(records.last?["frames"]?.arrayValue?.last == ["t": 2.0, "value": 204])
    }

    @Test("chained collectors: the second waits for what the first emits at the item's end")
    func chained() throws {
        let box = "chain-\(UUID())"
        let (summary, _) = try runPipeline(
            """
            version: 1
            nodes:
              - { id: src, type: test.items, with: { count: 3, per_item: 4, wait: true } }
              - { id: inner, type: json.collect, inputs: { value: src.out }, with: { key: a } }
              - { id: delay, type: test.random_delay, inputs: { in: inner.record }, with: { max_ms: 20 } }
              - { id: outer, type: json.collect, inputs: { value: delay.out }, with: { key: b, item_key: "" } }
              - { id: out, type: test.collect, inputs: { in: outer.record }, with: { box: "\(box)" } }
            """)
        #expect(summary.succeeded, "\(summary.failures)")
        let records = Boxes.take(box).map(\.value)
        #expect(records.count == 3)
        for (k, record) in records.enumerated() {
            #expect(record == ["b": [["item": .string("i\(k)"), "a": .array((0..<4).map { .int(100 * k + $0) })]]])
        }
    }

    @Test("an item that fails part-way is reported and not emitted; the others are")
    func failedItem() throws {
        let box = "failed-\(UUID())"
        let log = EventLog()
        let (summary, _) = try runPipeline(
            """
            version: 1
            nodes:
              - { id: src, type: test.items, with: { count: 4, per_item: 5 } }
              - { id: check, type: test.fail_on, inputs: { in: src.out }, with: { values: [203] } }
              - { id: col, type: json.collect, inputs: { value: check.out } }
              - { id: out, type: test.collect, inputs: { in: col.record }, with: { box: "\(box)" } }
            """, events: log.handler)
        #expect(summary.outcome == .completed && !summary.succeeded)
        #expect(summary.itemsOK == 3 && summary.itemsFailed == 1 && summary.itemsUnfinished == 0)
        #expect(Boxes.take(box).map(\.item.id).sorted() == ["i0", "i1", "i3"])
        #expect(log.failures.map(\.node) == ["check"] && log.failures.first?.item == "i2")
    }

    @Test("an error at an item's end fails that item (json.collect's limit)")
    func endError() throws {
        let box = "limit-\(UUID())"
        let log = EventLog()
        let (summary, _) = try runPipeline(
            """
            version: 1
            nodes:
              - { id: src, type: test.items, with: { count: 2, per_item: 3 } }
              - { id: col, type: json.collect, inputs: { value: src.out }, with: { limit: 2 } }
              - { id: out, type: test.collect, inputs: { in: col.record }, with: { box: "\(box)" } }
            """, events: log.handler)
        #expect(summary.itemsFailed == 2 && Boxes.take(box).isEmpty)
        #expect(log.failures.allSatisfy { $0.node == "col" && $0.message.contains("more than 2 values") })
    }

    @Test("a collector runs as one copy")
    func oneCopy() throws {
        let yaml = """
            version: 1
            nodes:
              - { id: src, type: test.items }
              - { id: col, type: json.collect, concurrency: 2, inputs: { value: src.out } }
            """
        let error = try #require(throws: ValidationFailure.self) { try runPipeline(yaml) }
        #expect("\(error)".contains("'json.collect' gathers whole items in one copy; 'concurrency' must be 1"))
    }
}
