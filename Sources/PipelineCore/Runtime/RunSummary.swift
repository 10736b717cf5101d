import Foundation

/// What a run did: items, per-node work, per-edge traffic and every failure.
public struct RunSummary: Sendable, Codable {
    public enum Outcome: String, Sendable, Codable {
        case completed, interrupted, aborted
    }

    public struct Failure: Sendable, Codable, Equatable {
        public let node: String
        public let item: String?
        public let message: String
    }

    public struct NodeSummary: Sendable, Codable {
        public let id: String
        public let type: String
        public let copies: Int
        public let packetsIn: Int
        public let packetsOut: Int
        public let calls: Int
        public let busySeconds: Double
    }

    public struct EdgeSummary: Sendable, Codable {
        public let edge: String
        public let capacity: Int
        public let pushed: Int
        public let dropped: Int
        public let highWater: Int
        public let policy: String
    }

    public let pipeline: String
    public let outcome: Outcome
    public let abortReason: String?
    public let seconds: Double
    public let itemsStarted: Int
    public let itemsOK: Int
    public let itemsFailed: Int
    public let itemsUnfinished: Int
    public let packetsDropped: Int
    public let warnings: Int
    public let stalls: Int
    public let nodes: [NodeSummary]
    public let edges: [EdgeSummary]
    public let failures: [Failure]
    /// The kernel instruction set the run used (`portable`, `avx2`), where the caller sets it
    /// (the CLI does; PipelineCore does not know the kernels).
    public var isa: String? = nil

    /// True when every item finished ok and the run was not cut short.
    public var succeeded: Bool {
        outcome == .completed && itemsFailed == 0 && failures.isEmpty
    }

    /// Pretty JSON for `--summary-json`.
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// The human end-of-run report.
    public func text() -> String {
        var lines: [String] = []
        let rate = seconds > 0 ? Double(itemsOK + itemsFailed) / seconds : 0
        lines.append(
            "\(pipeline): \(outcome.rawValue) in \(String(format: "%.2f", seconds)) s — items: \(itemsOK) ok, "
                + "\(itemsFailed) failed" + (itemsUnfinished > 0 ? ", \(itemsUnfinished) unfinished" : "")
                + String(format: " (%.1f items/s)", rate))
        if let abortReason { lines.append("  stopped: \(abortReason)") }
        let width = max(4, nodes.map(\.id.count).max() ?? 4)
        lines.append(
            "  " + "node".padding(toLength: width, withPad: " ", startingAt: 0)
                + "  copies   in        out       busy s    pkts/s")
        for n in nodes {
            let perSecond = n.busySeconds > 0 ? Double(max(n.packetsIn, n.packetsOut)) / seconds : 0
            lines.append(
                "  " + n.id.padding(toLength: width, withPad: " ", startingAt: 0)
                    + String(format: "  %-6d   %-8d  %-8d  %-8.3f  %.0f", n.copies, n.packetsIn, n.packetsOut,
                        n.busySeconds, perSecond))
        }
        for e in edges where e.dropped > 0 {
            lines.append("  dropped \(e.dropped) packets on \(e.edge) (policy \(e.policy), capacity \(e.capacity))")
        }
        if warnings > 0 { lines.append("  \(warnings) warning\(warnings == 1 ? "" : "s")") }
        if stalls > 0 { lines.append("  watchdog reported \(stalls) stall\(stalls == 1 ? "" : "s")") }
        return lines.joined(separator: "\n")
    }
}

/// A live view of a run.
public struct RunSnapshot: Sendable {
    public struct EdgeState: Sendable {
        public let name: String
        public let depth: Int
        public let capacity: Int
    }

    public struct CopyState: Sendable {
        public let node: String
        public let copy: Int
        public let state: String
        public let seconds: Double
        public let item: String?
        public let edge: String?
    }

    public let elapsed: Double
    public let itemsStarted: Int
    public let itemsOK: Int
    public let itemsFailed: Int
    public let edges: [EdgeState]
    public let copies: [CopyState]
}
