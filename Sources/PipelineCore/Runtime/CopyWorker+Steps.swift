import Synchronization

/// A copy's life on the step pool: queued by `wake`, run one batch at a time by `step`.
///
/// The copy's `schedule` moves idle -> queued (on the pool's queue) -> running (a pool thread
/// is in `step`) -> idle again when the step finds nothing to do. A wake that comes while it
/// runs marks it `notified`, and the thread steps it once more instead of letting it go idle,
/// so a push that lands between "the inbox is empty" and "idle" is never lost. `done` is final.
enum Schedule {
    static let idle = 0
    static let queued = 1
    static let running = 2
    static let notified = 3
    static let done = 4
}

extension CopyWorker {
    /// What one step did.
    enum StepResult {
        /// Handled a batch and more is queued (the copy goes to the back of the queue).
        case more
        /// Nothing to do now (empty inbox, full edge, no reordering permit): the copy waits
        /// for a wake.
        case parked
        /// Finished: every lane closed and drained (or the run aborted), `finish` called.
        case done
    }

    /// Makes sure the copy takes a step soon: queues it when idle, notes the wake when running.
    /// Any thread may call it, as often as it likes.
    func wake() {
        while true {
            switch schedule.load(ordering: .acquiring) {
            case Schedule.idle:
                if schedule.compareExchange(
                    expected: Schedule.idle, desired: Schedule.queued, ordering: .acquiringAndReleasing
                ).exchanged {
                    run.pool.submit(self)
                    return
                }
            case Schedule.running:
                if schedule.compareExchange(
                    expected: Schedule.running, desired: Schedule.notified, ordering: .acquiringAndReleasing
                ).exchanged { return }
            default:
                return
            }
        }
    }

    /// Runs on a pool thread: steps the copy until it parks, or has handled a batch with
    /// more waiting.
    func runQueued() {
        schedule.store(Schedule.running, ordering: .releasing)
        while true {
            switch step() {
            case .done:
                schedule.store(Schedule.done, ordering: .releasing)
                return
            case .more:
                schedule.store(Schedule.queued, ordering: .releasing)
                run.pool.submit(self)
                return
            case .parked:
                if schedule.compareExchange(
                    expected: Schedule.running, desired: Schedule.idle, ordering: .acquiringAndReleasing
                ).exchanged { return }
                // Woken while stepping: look again.
                schedule.store(Schedule.running, ordering: .releasing)
            }
        }
    }

    /// One step: take a batch that fits in the room downstream and process it.
    func step() -> StepResult {
        guard let inbox = runner.inbox else { return .done }
        if run.isAborted {
            finishCopy()
            return .done
        }
        let sequencer = runner.sequencer
        if let sequencer, !sequencer.tryAcquire(waiter: self) {
            setActivity(.waiting)
            return .parked
        }
        // Take no more than every `block` edge ahead can hold, so a node that emits one packet
        // per input never waits inside `process`; a full edge parks the copy until a pop.
        var limit = run.batchLimit
        for out in runner.outEdges {
            let room = out.target.inbox!.room(lane: out.lane, waiter: self)
            if room == 0 {
                sequencer?.release()
                setActivity(.pushing, edge: out.edgeIndex)
                return .parked
            }
            limit = min(limit, room)
        }
        switch inbox.tryPop(limit: limit, copy: copy) {
        case .empty:
            sequencer?.release()
            setActivity(.waiting)
            return .parked
        case .closed:
            sequencer?.release()
            finishCopy()
            return .done
        case .batch(let batch):
            if !batch.ends.isEmpty { sequencer?.release() }
            process(batch)
            // More already queued: to the back of the queue (fair to other copies). Otherwise
            // park; a push during the batch has marked the copy notified, so none is missed.
            return inbox.hasWork(copy: copy) ? .more : .parked
        }
    }
}
