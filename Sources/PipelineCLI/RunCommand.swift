import ArgumentParser
import Dispatch
import Foundation
import PipelineCore
import PipelineTensor

#if canImport(Glibc)
import Glibc
#endif

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Validate a pipeline file, then stream every item through it.",
        discussion: """
            Exit status: 0 when every item succeeded, 1 when any item failed or the run was aborted,
            2 when the file is invalid, 130 when interrupted (Ctrl-C drains in-flight items first;
            a second Ctrl-C abandons them).
            """)

    @Argument(help: "The pipeline file.") var file: String
    @OptionGroup var params: ParamOverrides
    @Flag(help: "Show live progress (a status line on a terminal, a line per second otherwise).") var progress = false
    @Option(help: ArgumentHelp("Write a Chrome trace-event JSON file (open in Perfetto).", valueName: "path")) var trace: String?
    @Option(name: .customLong("summary-json"), help: ArgumentHelp("Write the run summary as JSON.", valueName: "path"))
    var summaryJSON: String?
    @Option(help: ArgumentHelp("Watchdog timeout in seconds (0 disables); overrides the file's settings.", valueName: "seconds"))
    var watchdog: Double?
    @Flag(help: "Print only errors, not the end-of-run summary.") var quiet = false
    @Option(help: "Threads for node copies, the worker pool and OpenBLAS each (default: PIPELINE_THREADS, else all cores).")
    var threads: Int?
    @OptionGroup var isa: ISAOptions

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        try isa.apply()
        let graph = try loadOrExit(file, overrides: try params.pairs())
        try Self.execute(
            graph: graph, progress: progress, trace: trace, summaryJSON: summaryJSON, watchdog: watchdog, quiet: quiet,
            threads: threads)
    }

    /// Runs a validated graph with signal handling, progress and reports; throws the exit code.
    static func execute(
        graph: PipelineGraph, progress: Bool, trace: String? = nil, summaryJSON: String? = nil,
        watchdog: Double? = nil, quiet: Bool = false, perItemLines: Bool = false, threads: Int? = nil
    ) throws {
        if let threads {
            WorkerPool.setThreads(threads)
            BLAS.setThreads(WorkerPool.threads)
        }
        let pipelineRun: PipelineRun
        do {
            pipelineRun = try PipelineRun(
                graph: graph, options: RunOptions(trace: trace != nil, watchdogSeconds: watchdog, threads: threads),
                observer: perItemLines ? reportWithItems : report)
        } catch {
            Terminal.error("\(error)")
            throw Exit.failed
        }
        let signals = SignalHandler { count in
            if count == 1 {
                Terminal.line("stopping: finishing in-flight items (press Ctrl-C again to abandon them)")
            }
            pipelineRun.stop()
        }
        let ticker = progress ? ProgressTicker(run: pipelineRun) : nil
        pipelineRun.start()
        var summary = pipelineRun.wait()
        summary.isa = ISA.current.rawValue
        ticker?.stop()
        signals.cancel()

        if let trace { try writeFile(pipelineRun.traceJSON(), to: trace) }
        if let summaryJSON { try writeFile(try summary.json(), to: summaryJSON) }
        if !quiet { Terminal.line(summary.text()) }
        if summary.outcome == .interrupted { throw Exit.interrupted }
        if !summary.succeeded { throw Exit.failed }
    }

    private static func writeFile(_ text: String, to path: String) throws {
        do {
            try AtomicFile.write(Array(text.utf8), to: path)
        } catch {
            Terminal.error("\(error)")
            throw Exit.failed
        }
    }

    /// Prints failures, warnings and stalls as they happen.
    static let report: @Sendable (RunEvent) -> Void = { event in
        switch event {
        case let .failure(node, item, message):
            Terminal.line("error: node '\(node)'" + (item.map { " item '\($0)'" } ?? "") + ": \(message)")
        case let .warning(node, message):
            Terminal.line("warning: node '\(node)': \(message)")
        case let .stall(report):
            Terminal.line("watchdog: \(report)")
        case .itemStarted, .itemFinished:
            break
        }
    }

    /// `report`, plus a line per finished item (for logs: watch mode without a terminal).
    static let reportWithItems: @Sendable (RunEvent) -> Void = { event in
        if case let .itemFinished(id, failed) = event {
            Terminal.line("\(failed ? "failed" : "done") \(id)")
        } else {
            report(event)
        }
    }
}

/// Turns SIGINT and SIGTERM into calls on the main thread's behalf, counting them.
final class SignalHandler: @unchecked Sendable {
    private var sources: [any DispatchSourceSignal] = []
    private var count = 0
    private let queue = DispatchQueue(label: "pipeline.signals")

    init(_ handler: @escaping @Sendable (Int) -> Void) {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler { [unowned self] in
                count += 1
                handler(count)
            }
            source.resume()
            sources.append(source)
        }
    }

    func cancel() {
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}

/// Live progress: a status line on a terminal, a plain line per second otherwise.
final class ProgressTicker: @unchecked Sendable {
    private let timer: any DispatchSourceTimer
    private let tty = Terminal.stderrIsTTY

    init(run: PipelineRun) {
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "pipeline.progress"))
        let period = tty ? 0.2 : 1.0
        timer.schedule(deadline: .now() + period, repeating: period)
        timer.setEventHandler { [tty] in
            let s = run.snapshot()
            let done = s.itemsOK + s.itemsFailed
            let busiest = s.edges.max { Double($0.depth) / Double($0.capacity) < Double($1.depth) / Double($1.capacity) }
            var text = String(format: "[%6.1fs] items %d/%d done (%d failed)", s.elapsed, done, s.itemsStarted, s.itemsFailed)
            if s.elapsed > 0 { text += String(format: ", %.1f/s", Double(done) / s.elapsed) }
            if let busiest, busiest.depth > 0 { text += " | fullest queue \(busiest.name) \(busiest.depth)/\(busiest.capacity)" }
            if tty {
                let bar = Self.bar(done: done, total: s.itemsStarted)
                Terminal.status("\(bar) \(text)")
            } else {
                Terminal.line("progress: \(text)")
            }
        }
        timer.resume()
    }

    static func bar(done: Int, total: Int, width: Int = 20) -> String {
        let filled = total > 0 ? min(width, done * width / total) : 0
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
    }

    func stop() { timer.cancel() }
}
