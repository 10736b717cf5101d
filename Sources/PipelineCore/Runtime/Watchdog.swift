import Dispatch
import Foundation
import Synchronization

/// Reports a graph in which no packet has moved for a while: which node holds it (the copy
/// that has been inside `process` longest, or the one blocked pushing into a full edge)
/// and every queue's depth. Reports once per stall; `fail` aborts the run instead.
final class Watchdog: @unchecked Sendable {
    private unowned let run: PipelineRun
    private let seconds: Double
    private let action: WatchdogAction
    private let timer: any DispatchSourceTimer
    private var lastProgress = -1
    private var lastChange = MonotonicClock.now()
    private var reported = false

    init(run: PipelineRun, seconds: Double, action: WatchdogAction) {
        self.run = run
        self.seconds = seconds
        self.action = action
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "pipeline.watchdog"))
    }

    func start() {
        let period = max(0.05, min(1.0, seconds / 4))
        timer.schedule(deadline: .now() + period, repeating: period)
        timer.setEventHandler { [weak self] in self?.tick() }
        timer.resume()
    }

    func cancel() { timer.cancel() }

    private func tick() {
        let now = MonotonicClock.now()
        let progress = run.progress.load(ordering: .relaxed)
        if progress != lastProgress {
            lastProgress = progress
            lastChange = now
            reported = false
            return
        }
        let stalledFor = Double(now - lastChange) / 1e9
        guard !reported, stalledFor >= seconds else { return }
        let snapshot = run.snapshot()
        // `progress` counts a batch once, when a copy takes it: a slow node working through a
        // batch of items whose results go nowhere (failures, a sink) moves no counter. A copy
        // that began its current item since the last change is not stalled.
        if snapshot.copies.contains(where: { $0.state == "processing" && $0.seconds < stalledFor - 0.01 }) {
            lastChange = now
            return
        }
        reported = true
        let report = Self.describe(snapshot, stalledFor: stalledFor)
        run.stalled(report)
        if action == .fail { run.abort(reason: "watchdog: \(report.split(separator: "\n").first ?? "")") }
    }

    /// Names the holder and lists every queue.
    static func describe(_ s: RunSnapshot, stalledFor: Double) -> String {
        var lines = [String(format: "no packet moved for %.1f s", stalledFor)]
        let active = s.copies.filter { $0.state == "processing" || $0.state == "pushing" }
        if let holder = active.filter({ $0.state == "processing" }).max(by: { $0.seconds < $1.seconds }) {
            lines[0] +=
                "; node '\(holder.node)' (copy \(holder.copy)) has been in process() for "
                + String(format: "%.1f s", holder.seconds) + (holder.item.map { " on item '\($0)'" } ?? "")
        } else if let pusher = active.max(by: { $0.seconds < $1.seconds }) {
            lines[0] += "; node '\(pusher.node)' is blocked pushing into \(pusher.edge ?? "a full edge")"
        } else {
            lines[0] += "; every node is waiting for input"
        }
        for c in s.copies where c.state != "finished" {
            lines.append(
                "  node \(c.node)#\(c.copy): \(c.state) for " + String(format: "%.1f s", c.seconds)
                    + (c.item.map { " (item \($0))" } ?? "") + (c.edge.map { " (edge \($0))" } ?? ""))
        }
        for e in s.edges {
            lines.append("  edge \(e.name): \(e.depth)/\(e.capacity)\(e.depth >= e.capacity ? " FULL" : "")")
        }
        return lines.joined(separator: "\n")
    }
}
