import Foundation
import Logging
import Synchronization

extension WorkflowContext {
    /// Why the run stopped, if it did.
    var stopReason: StopReason? { state.withLock { $0.stop } }

    /// Entries made by deterministic calls that are not yet in the journal.
    func unwritten() -> [JournalEntry] { state.withLock { $0.unwritten } }

    /// Queues an entry to be written with the next durable write (or the execution's outcome).
    func journalLater(_ entry: JournalEntry) { state.withLock { $0.unwritten.append(entry) } }

    /// Marks the unwritten entries as written and remembers the stored status.
    func written(status: ExecutionStatus) {
        state.withLock { state in
            state.unwritten.removeAll()
            state.storedStatus = status
        }
    }

    /// The error if the workflow returned while the journal records further calls.
    func unreplayedCalls() -> WorkflowError? { state.withLock { $0.unreplayedCalls(executionId: executionId) } }

    func begin(_ kind: JournalEntry.Kind, _ name: String) throws -> (Int, JournalEntry?) {
        if Task.isCancelled { try stop(.shutdown) }
        // The shard is leaving: its next owner makes this call, once this run has stopped.
        if !stillHosted() { try stop(.moved) }
        let call = try state.withLock { try $0.begin(kind, name, executionId: executionId) }
        if call.1 == nil { caughtUp() }
        return call
    }

    /// Stops the run for good: every later durable call throws the reason's error.
    func stop(_ reason: StopReason) throws -> Never {
        let reason = state.withLock { state -> StopReason in
            if let stop = state.stop { return stop }
            state.stop = reason
            return reason
        }
        throw reason.error(executionId: executionId)
    }

    /// Runs a store operation, turning storage failures and lost guards into a stop of the run.
    func durable<Result>(_ operation: () async throws -> Result) async throws -> Result {
        logger.trace("durable call started")
        defer { logger.trace("durable call ended") }
        do {
            return try await operation()
        } catch let error as ActivityBodyError {
            throw error
        } catch let error as ExecutionNotWritable {
            try stop(error.status == .cancelled ? .cancelled : .lost(error.status))
        } catch {
            // Only the run's own cancellation is a shutdown: a `CancellationError` with the task not cancelled is a
            // failure like any other, and the run is replayed.
            if Task.isCancelled { try stop(.shutdown) }
            try stop(.storage(error))
        }
    }

    /// Writes journal entries (after any unwritten deterministic ones) and the status, guarded.
    func write(_ entries: [JournalEntry], status: ExecutionStatus) async throws {
        try await durable {
            try await store.record(key: key, entries: unwritten() + entries, status: statusChange(to: status),
                                   lease: lease)
        }
        written(status: status)
    }

    /// The status to store for a write that leaves the execution in `status`: `nil` if it is stored already.
    func statusChange(to status: ExecutionStatus) -> ExecutionStatus? {
        state.withLock { $0.storedStatus == status ? nil : status }
    }

    /// Stops the run if the execution finished (cancelled, or decided elsewhere) or vanished.
    func stopIfFinished(_ status: ExecutionStatus?) throws {
        guard let status else { try stop(.lost(nil)) }
        guard status.isTerminal else { return }
        try stop(status == .cancelled ? .cancelled : .lost(status))
    }

    /// Suspends until woken or `deadline`, then stops the run if the process is shutting down or the run's shard
    /// has left this runner.
    ///
    /// A wait that lasts past ``parkAfter`` while `deadline` is further away than that parks the run: it stops
    /// without writing anything, and the engine replays it when woken or `parkAfter` before `deadline`.
    func suspend(until deadline: Date?) async throws {
        let now = ContinuousClock.now
        let instant = deadline.map { now + .seconds(max(0, clock.interval(until: $0))) }
        var parkAt = parkAfter.map { now + $0 }
        // Due soon after the park time: the timer would resume it at once, so it stays in memory.
        if let parkAfter, let instant, instant <= now + parkAfter * 2 { parkAt = nil }
        logger.debug("execution suspended")
        caughtUp()
        onSuspend()
        let until: ContinuousClock.Instant? = switch (instant, parkAt) {
        case let (instant?, parkAt?): min(instant, parkAt)
        case let (instant, parkAt): instant ?? parkAt
        }
        let signalled = await waiter.wait(until: until)
        if Task.isCancelled { try stop(.shutdown) }
        if !stillHosted() { try stop(.moved) }
        if !signalled, let parkAt, ContinuousClock.now >= parkAt { try stop(.parked(deadline)) }
    }

    /// Waits until `due` by the database's clock, waking early only to check for cancellation.
    ///
    /// The caller resets the waiter before writing the state this wait depends on.
    func waitUntil(_ due: Date) async throws {
        while due > clock.now {
            try await suspend(until: due)
            guard due > clock.now else { return }
            waiter.reset()
            _ = try await look(deferred: nil)
        }
    }

    /// Reads the execution's wait state (and the awaited deferred's value, if any), remembers it as the run's last
    /// look, and stops the run if the execution finished.
    func look(deferred: String?) async throws -> WaitState {
        let state = try await durable { try await store.waitState(key: key, deferred: deferred) }
        self.state.withLock { $0.wakeMark = state.wakeMark }
        try stopIfFinished(state.status)
        return state
    }

    /// What the run's last look saw of changes from outside.
    var lastWakeMark: WakeMark { state.withLock { $0.wakeMark } }
}
