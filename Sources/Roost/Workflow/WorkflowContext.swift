import Foundation
import Logging
import Synchronization
import Tracing

/// What a running workflow uses for everything that must survive a crash: activities, durable sleeps, deferreds
/// and deterministic values. Each such call is journaled; on replay the journaled result is returned.
///
/// Durable calls are matched on replay by position, kind and name: make them one at a time, in an order that
/// depends only on the input and on earlier durable results.
public final class WorkflowContext: Sendable {
    /// The execution id.
    public let executionId: String
    /// The workflow's registered name.
    public let workflowName: String
    /// How many times a runner has started or resumed this execution (1 for the first run).
    public let attempt: Int
    /// Logs with the execution's metadata.
    public let logger: Logger

    let key: ExecutionKey
    let coder: PayloadCoder
    let store: any WorkflowStore
    let waiter: Waiter
    /// The database's clock, which due times are computed from and compared with.
    let clock: DatabaseClock
    let state: Mutex<ReplayState>
    let onSuspend: @Sendable () -> Void
    /// How long a wait stays in memory before the run is parked; `nil` never parks.
    let parkAfter: Duration?
    /// The shard lease every write of this run is fenced by; `nil` outside a cluster.
    let lease: ShardLease?
    /// Whether this runner still holds the run's shard at its epoch.
    let stillHosted: @Sendable () -> Bool
    /// Called when the run's replay has caught up with its journal: at its first call the journal does not hold,
    /// or its first wait.
    let caughtUp: @Sendable () -> Void

    init(record: ExecutionRecord, journal: [JournalEntry], wakeMark: WakeMark, store: any WorkflowStore,
         coder: PayloadCoder, waiter: Waiter, clock: DatabaseClock, logger: Logger, parkAfter: Duration?,
         lease: ShardLease?, stillHosted: @escaping @Sendable () -> Bool,
         caughtUp: @escaping @Sendable () -> Void = {}, onSuspend: @escaping @Sendable () -> Void) {
        executionId = record.id
        workflowName = record.workflow
        attempt = record.attempt
        key = record.key
        self.store = store
        self.coder = coder
        self.waiter = waiter
        self.clock = clock
        self.logger = logger
        self.onSuspend = onSuspend
        self.parkAfter = parkAfter
        self.lease = lease
        self.stillHosted = stillHosted
        self.caughtUp = caughtUp
        state = Mutex(ReplayState(journal: journal, status: record.status, wakeMark: wakeMark))
    }

    // MARK: Activities

    /// Runs an activity once per execution: its body's transaction commits together with its journal entry, and on
    /// replay the journaled result is returned without running the body.
    ///
    /// - Parameters:
    ///   - name: The activity's name.
    ///   - retry: How often to retry when the body throws. Defaults to ``RetryPolicy/default``.
    ///   - body: The work; SQL run in its transaction commits with the journal entry.
    /// - Returns: The body's result.
    /// - Throws: ``ActivityFailure`` once the last attempt failed (live and on every replay); a ``WorkflowError``
    ///   `cancelled` if the execution was cancelled.
    public func activity<Value: Codable & Sendable>(
        _ name: String, retry: RetryPolicy = .default,
        _ body: (ActivityTransaction) async throws -> Value
    ) async throws -> Value {
        try await runActivity(name, retry: retry) { activity in
            let box = Mutex<Value?>(nil)
            let started = ContinuousClock.now
            try await store.runActivity(key: key, entries: unwritten(), status: statusChange(to: .running),
                                        lease: lease, context: activity) { transaction in
                let value = try await body(transaction)
                let result = try coder.encode(value, what: "result of activity '\(name)'")
                box.withLock { $0 = value }
                return JournalEntry(position: activity.position, kind: .activity, name: name, state: .completed,
                                    attempts: activity.attempt, result: result,
                                    durationMs: (ContinuousClock.now - started).milliseconds)
            }
            return box.withLock { $0! }
        }
    }

    /// Runs an activity that returns nothing. See ``activity(_:retry:_:)-swift.method``.
    public func activity(_ name: String, retry: RetryPolicy = .default,
                         _ body: (ActivityTransaction) async throws -> Void) async throws {
        let _: Bool = try await activity(name, retry: retry) { transaction in
            try await body(transaction)
            return true
        }
    }

    /// Runs an activity that is one statement of the storage's query language, with its journal entry in the same
    /// statement. Storage drivers offer it with their statement type (`RoostPostgres`: `activity(_:retry:statement:)`).
    /// The activity's result is `true`, as for an activity whose body returns nothing, so either form replays the
    /// other's journal entry.
    package func statementActivity(_ name: String, retry: RetryPolicy, statement: any Sendable) async throws {
        let _: Bool = try await runActivity(name, retry: retry) { activity in
            let completed = JournalEntry(position: activity.position, kind: .activity, name: name,
                                         state: .completed, attempts: activity.attempt, result: "true")
            try await store.runStatementActivity(key: key, entries: unwritten(), status: statusChange(to: .running),
                                                 lease: lease, statement: statement, completed: completed)
            return true
        }
    }

    /// The durable part every activity shares: the journaled result on replay, attempts with the retry policy's
    /// back-off, and the failure journaled after the last attempt. `attempt` runs one attempt and writes its
    /// completed entry; it throws ``ActivityBodyError`` when the activity's own work failed.
    private func runActivity<Value: Codable & Sendable>(
        _ name: String, retry: RetryPolicy, attempt: (ActivityContext) async throws -> Value
    ) async throws -> Value {
        let (position, recorded) = try begin(.activity, name)
        var attempts = 0
        if let recorded {
            switch recorded.state {
            case .completed:
                return try coder.decode(Value.self, from: recorded.result ?? "null", what: "result of activity '\(name)'")
            case .failed:
                throw ActivityFailure(activity: name, attempts: recorded.attempts,
                                      lastError: recorded.error ?? FailureInfo(code: "unknown", message: "unknown"))
            default:
                attempts = recorded.attempts
                if let due = recorded.dueAt { try await waitUntil(due) }
            }
        }
        while true {
            attempts += 1
            let activity = ActivityContext(workflow: workflowName, executionId: executionId, activity: name,
                                           position: position, attempt: attempts)
            let started = ContinuousClock.now
            let span = startSpan("roost.activity", ofKind: .internal)
            span.attributes["roost.workflow"] = workflowName
            span.attributes["roost.execution"] = executionId
            span.attributes["roost.activity"] = name
            span.attributes["roost.attempt"] = attempts
            defer { span.end() }
            do {
                let value = try await durable { try await attempt(activity) }
                written(status: .running)
                RoostMetrics.activityAttempt(workflow: workflowName, outcome: "completed",
                                             duration: ContinuousClock.now - started)
                return value
            } catch let failure as ActivityBodyError {
                span.recordError(failure.underlying)
                RoostMetrics.activityAttempt(workflow: workflowName, outcome: "failed",
                                             duration: ContinuousClock.now - started)
                let error = FailureInfo(failure.underlying, fallback: .activityFailed)
                logger.debug("activity attempt failed", metadata: ["roost.activity": "\(name)",
                                                                   "roost.attempt": "\(attempts)"])
                let due = Timestamp.rounded(clock.now.addingTimeInterval(retry.backoff(after: attempts).seconds))
                if attempts >= retry.maximumAttempts {
                    try await write([JournalEntry(position: position, kind: .activity, name: name, state: .failed,
                                                  attempts: attempts, error: error,
                                                  durationMs: (ContinuousClock.now - started).milliseconds)],
                                    status: .running)
                    throw ActivityFailure(activity: name, attempts: attempts, lastError: error)
                }
                waiter.reset()
                try await write([JournalEntry(position: position, kind: .activity, name: name, state: .retrying,
                                              attempts: attempts, error: error, dueAt: due)], status: .waiting)
                try await waitUntil(due)
            }
        }
    }

    // MARK: Sleeps

    /// Sleeps durably: the due time is stored once, survives restarts, and the sleep never returns before it.
    /// - Parameters:
    ///   - name: The timer's name; each call is its own timer.
    ///   - duration: How long from the first time this call runs.
    /// - Throws: A ``WorkflowError`` `cancelled` if the execution is cancelled meanwhile.
    public func sleep(_ name: String, for duration: Duration) async throws {
        try await sleep(name) { clock.now.addingTimeInterval(duration.seconds) }
    }

    /// Sleeps durably until a point in time. See ``sleep(_:for:)``.
    public func sleep(_ name: String, until date: Date) async throws {
        try await sleep(name) { date }
    }

    private func sleep(_ name: String, due: () -> Date) async throws {
        let (position, recorded) = try begin(.sleep, name)
        if let recorded, recorded.state == .completed { return }
        let dueAt: Date
        if let recorded, let recordedDue = recorded.dueAt {
            dueAt = recordedDue
        } else {
            dueAt = Timestamp.rounded(due())
            waiter.reset()
            try await write([JournalEntry(position: position, kind: .sleep, name: name, state: .waiting,
                                          dueAt: dueAt)], status: .waiting)
        }
        try await waitUntil(dueAt)
        RoostMetrics.timerFired(lateness: .milliseconds(Int64(clock.now.timeIntervalSince(dueAt) * 1000)))
        WakeUpSpan.record(.timer, name: name, since: dueAt, workflow: workflowName, execution: executionId)
        // Journaled with the next durable write: a replay of a sleep past its due time returns at once anyway.
        journalLater(JournalEntry(position: position, kind: .sleep, name: name, state: .completed,
                            result: try coder.encode(Timestamp.rounded(clock.now), what: "fire time"), dueAt: dueAt))
    }

    // MARK: Deferreds

    /// Waits for a deferred's value. A value resolved before the wait is returned at once; the first value resolved
    /// is the one returned, live and on every replay.
    /// - Parameters:
    ///   - deferred: The deferred.
    ///   - timeout: How long to wait from the first time this call runs; `nil` waits for ever.
    /// - Returns: The value.
    /// - Throws: ``WorkflowError`` `timed_out` after the timeout, `invalid_payload` if the value does not decode as
    ///   `Value`, `cancelled` if the execution is cancelled.
    public func awaitDeferred<Value>(_ deferred: Deferred<Value>, timeout: Duration? = nil) async throws -> Value {
        let (position, recorded) = try begin(.deferred, deferred.name)
        let what = "value of deferred '\(deferred.name)'"
        if let recorded, recorded.state == .completed {
            if let error = recorded.error { throw WorkflowError(WorkflowError.Code(error.code), error.message) }
            return try coder.decode(Value.self, from: recorded.result ?? "null", what: what)
        }
        var deadline = recorded?.dueAt
        if recorded == nil {
            deadline = timeout.map { Timestamp.rounded(clock.now.addingTimeInterval($0.seconds)) }
            waiter.reset()
            try await write([JournalEntry(position: position, kind: .deferred, name: deferred.name, state: .waiting,
                                          dueAt: deadline)], status: .waiting)
        }
        var delivered: (value: String, at: Date)?
        var suspended = false
        while true {
            // A resolve committed before this check sent its signal before the reset above: only the check sees it.
            // A value handed over by a resolve in this process was committed before it was handed over.
            var value = delivered?.value
            if let delivered {
                WakeUpSpan.record(.deferred, name: deferred.name, since: delivered.at, workflow: workflowName,
                                  execution: executionId)
            } else {
                let state = try await look(deferred: deferred.name)
                value = state.value
                // A wait that suspended and was woken by a resolve: how long the wake-up took.
                if suspended, let resolvedAt = state.resolvedAt {
                    RoostMetrics.wakeUp(latency: .milliseconds(Int64(clock.now.timeIntervalSince(resolvedAt) * 1000)))
                    WakeUpSpan.record(.deferred, name: deferred.name, since: resolvedAt, workflow: workflowName,
                                      execution: executionId)
                }
            }
            if let value {
                // Journaled with the next durable write: the first value stored is never replaced, so a replay
                // before that write reads the same value.
                journalLater(JournalEntry(position: position, kind: .deferred, name: deferred.name, state: .completed,
                                    result: value, dueAt: deadline))
                return try coder.decode(Value.self, from: value, what: what)
            }
            if let deadline, deadline <= clock.now {
                let error = WorkflowError(.timedOut, "deferred '\(deferred.name)' of execution '\(executionId)' "
                                          + "was not resolved by \(Timestamp.format(deadline))")
                try await write([JournalEntry(position: position, kind: .deferred, name: deferred.name,
                                              state: .completed,
                                              error: FailureInfo(code: error.code.rawValue, message: error.message),
                                              dueAt: deadline)], status: .running)
                throw error
            }
            try await suspend(until: deadline)
            suspended = true
            waiter.reset()
            delivered = waiter.takeDelivered(deferred.name)
        }
    }

    // MARK: Deterministic values

    /// The current time, journaled: a replay returns the time of the first run.
    public func now() throws -> Date {
        try deterministic(.now, "now", Date.self) { clock.now }
    }

    /// A random UUID, journaled: a replay returns the same UUID.
    public func uuid() throws -> UUID {
        try deterministic(.uuid, "uuid", UUID.self) { UUID() }
    }

    /// A random integer in a range, journaled: a replay returns the same number.
    public func random(in range: ClosedRange<Int>) throws -> Int {
        try deterministic(.random, "random", Int.self) { Int.random(in: range) }
    }

    private func deterministic<Value: Codable>(_ kind: JournalEntry.Kind, _ name: String, _ type: Value.Type,
                                               make: () -> Value) throws -> Value {
        let (position, recorded) = try begin(kind, name)
        if let recorded, let result = recorded.result {
            return try coder.decode(Value.self, from: result, what: "recorded \(kind)")
        }
        let result = try coder.encode(make(), what: "\(kind)")
        journalLater(JournalEntry(position: position, kind: kind, name: name, state: .completed, result: result))
        // Return what a replay will decode, so the first run and every replay see the same value.
        return try coder.decode(Value.self, from: result, what: "recorded \(kind)")
    }
}

extension Duration {
    /// The duration in seconds.
    package var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
