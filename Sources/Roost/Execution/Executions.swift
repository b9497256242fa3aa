import Foundation
import Logging
import Tracing

/// Starting, reading, cancelling executions and resolving deferreds: what clients and runners share.
///
/// ``WorkflowEngine/executions`` runs new executions in the engine's process and wakes its waiters at once;
/// `RoostClient` uses the same operations with only a database.
public struct Executions: Sendable {
    let store: any WorkflowStore
    let registry: WorkflowRegistry?
    let coder: PayloadCoder
    let resultWaiters: WaiterRegistry
    let pollInterval: Duration
    let placement: ExecutionPlacement?
    let host: (any ExecutionHost)?

    /// Creates the operations for a process that hosts no executions (a client): new executions are left
    /// `pending` for a runner. Feed it the store's notifications with ``receive(_:)``.
    /// - Parameters:
    ///   - store: The durable store.
    ///   - registry: Workflows to check names and payloads against, if known.
    ///   - maximumPayloadBytes: The largest payload accepted. Defaults to 1 MiB.
    ///   - pollInterval: How often a result wait re-reads the status when no notification comes. Defaults to 1 s.
    ///   - placement: Where executions live in the cluster, so that new ones are stored with their shard.
    public init(store: any WorkflowStore, registry: WorkflowRegistry? = nil, maximumPayloadBytes: Int = 1 << 20,
                pollInterval: Duration = .seconds(1), placement: ExecutionPlacement? = nil) {
        self.init(store: store, registry: registry, coder: PayloadCoder(maximumBytes: maximumPayloadBytes),
                  resultWaiters: WaiterRegistry(), pollInterval: pollInterval, placement: placement, host: nil)
    }

    /// Wakes result waits after a store notification.
    public func receive(_ note: StoreNotification) {
        switch note {
        case .finished(let key): resultWaiters.signal(key)
        case .resumed: resultWaiters.signalAll()
        case .wake, .wakeUpsFlagged: break
        }
    }

    init(store: any WorkflowStore, registry: WorkflowRegistry?, coder: PayloadCoder, resultWaiters: WaiterRegistry,
         pollInterval: Duration, placement: ExecutionPlacement?, host: (any ExecutionHost)?) {
        self.store = store
        self.registry = registry
        self.coder = coder
        self.resultWaiters = resultWaiters
        self.pollInterval = pollInterval
        self.placement = placement
        self.host = host
    }

    // MARK: Start

    /// Starts an execution, or returns the existing one with that id.
    /// - Parameters:
    ///   - workflow: The workflow's name.
    ///   - id: The execution id, the idempotency key.
    ///   - input: The input as JSON text.
    /// - Returns: The execution and whether this call created it.
    /// - Throws: ``WorkflowError`` `invalid_argument`, `unknown_workflow`, `invalid_payload`, `payload_too_large`,
    ///   or `conflict` if the id exists with a different input.
    public func start(workflow: String, id: String, input: String) async throws -> StartResult {
        try Self.checkIdentity(workflow: workflow, id: id)
        try coder.validate(json: input, what: "input of \(workflow)")
        try registry?.validateInput(workflow: workflow, json: input, coder: coder)
        return try await insert(workflow: workflow, id: id, input: input)
    }

    /// Starts an execution of a workflow type, or returns the existing one with that id.
    /// - Throws: See ``start(workflow:id:input:)``.
    public func start<W: Workflow>(_ workflow: W.Type, id: String, input: W.Input) async throws -> StartResult {
        // The input was encoded from its own type within the size limit: nothing left to check.
        try Self.checkIdentity(workflow: W.name, id: id)
        return try await insert(workflow: W.name, id: id, input: coder.encode(input, what: "input of \(W.name)"))
    }

    private func insert(workflow: String, id: String, input: String) async throws -> StartResult {
        try await withSpan("roost.execution.start", ofKind: .producer) { span in
            span.attributes["roost.workflow"] = workflow
            span.attributes["roost.execution"] = id
            let started = try await insertInSpan(workflow: workflow, id: id, input: input)
            span.attributes["roost.created"] = started.created
            return started
        }
    }

    private func insertInSpan(workflow: String, id: String, input: String) async throws -> StartResult {
        let shard = try await placement?.shard(of: id)
        // This process runs it at once if it hosts executions of its shard; otherwise the shard's owner does.
        let local = host?.holds(shard: shard) ?? false
        let new = NewExecution(workflow: workflow, id: id, input: input, status: local ? .running : .pending,
                               shard: shard, traceContext: TraceCarrier.current())
        switch try await store.insertExecution(new) {
        case .inserted(let record):
            RoostMetrics.executionStarted(workflow: workflow)
            if local { host?.launch(record) }
            return StartResult(record: record, created: true)
        case .existing(let record, let sameInput):
            guard sameInput else {
                throw WorkflowError(.conflict, "execution '\(id)' of \(workflow) already exists with a different "
                                    + "input; use a new id, or the same input to get the existing execution")
            }
            return StartResult(record: record, created: false)
        }
    }

    // MARK: Read

    /// The execution with that workflow and id.
    /// - Throws: ``WorkflowError`` `unknown_execution`.
    public func status(workflow: String, id: String) async throws -> ExecutionRecord {
        try Self.checkIdentity(workflow: workflow, id: id)
        guard let record = try await store.execution(workflow: workflow, id: id) else {
            throw WorkflowError(.unknownExecution, "no execution '\(id)' of workflow '\(workflow)'")
        }
        return record
    }

    /// Executions matching a filter, newest first.
    public func list(_ filter: ExecutionFilter = ExecutionFilter()) async throws -> [ExecutionRecord] {
        guard filter.limit > 0 else { throw WorkflowError(.invalidArgument, "the list limit must be positive") }
        return try await store.listExecutions(filter)
    }

    /// Everything stored about an execution: its record, the runner hosting it, its journal with timestamps, its
    /// timers and its deferreds.
    /// - Throws: ``WorkflowError`` `unknown_execution`.
    public func detail(workflow: String, id: String) async throws -> ExecutionDetail {
        try Self.checkIdentity(workflow: workflow, id: id)
        guard let detail = try await store.executionDetail(workflow: workflow, id: id) else {
            throw WorkflowError(.unknownExecution, "no execution '\(id)' of workflow '\(workflow)'")
        }
        return detail
    }

    /// An execution's journal: every durable call, by position.
    public func journal(workflow: String, id: String) async throws -> [JournalEntry] {
        try await store.journal(key: status(workflow: workflow, id: id).key)
    }

    /// Waits until the execution finishes or the timeout passes, and returns it as it then stands.
    /// - Parameters:
    ///   - workflow: The workflow's name.
    ///   - id: The execution id.
    ///   - timeout: How long to wait; `nil` waits for ever, `.zero` does not wait.
    /// - Throws: ``WorkflowError`` `unknown_execution`.
    public func result(workflow: String, id: String, timeout: Duration?) async throws -> ExecutionRecord {
        if timeout == .zero { return try await status(workflow: workflow, id: id) }
        let identity = (workflow: workflow, id: id)
        let deadline = timeout.map { ContinuousClock.now + $0 }
        // A run in this process hands its finished execution over in memory: no read at all.
        if let key = host?.hostedKey(workflow: workflow, id: id) {
            return try await awaitResult(identity, key: key, record: nil, deadline: deadline)
        }
        try Self.checkIdentity(workflow: workflow, id: id)
        // Completions elsewhere are announced only for watched executions; watching reads it too.
        guard let record = try await store.watchCompletion(workflow: workflow, id: id) else {
            throw WorkflowError(.unknownExecution, "no execution '\(id)' of workflow '\(workflow)'")
        }
        if record.status.isTerminal { return record }
        return try await awaitResult(identity, key: record.key, record: record, deadline: deadline)
    }

    /// Waits for the end of an unfinished execution: in memory while a run in this process hosts it, else by
    /// reading the store when a notification or the poll interval comes.
    private func awaitResult(_ identity: (workflow: String, id: String), key: ExecutionKey, record: ExecutionRecord?,
                             deadline: ContinuousClock.Instant?) async throws -> ExecutionRecord {
        var record = record
        var watching = record != nil
        return try await resultWaiters.withWaiter(for: key) { waiter in
            while true {
                // A run hosted here hands over its end when it no longer counts as hosted, and it had not ended
                // when this check saw it hosted: wait for that without reading or polling.
                if host?.hosts(key) == true {
                    await waiter.wait(until: deadline)
                    try Task.checkCancellation()
                    if let finished = waiter.finished { return finished }
                }
                // Read while registered, so an announced completion cannot slip between the read and the wait.
                waiter.reset()
                let read: ExecutionRecord?
                if watching || host?.hosts(key) == true {
                    read = try await store.execution(key: key)
                } else {
                    read = try await store.watchCompletion(workflow: identity.workflow, id: identity.id)
                    watching = true
                }
                guard let current = read else {
                    if let record { return record }
                    throw WorkflowError(.unknownExecution, "execution \(key) no longer exists")
                }
                record = current
                if current.status.isTerminal { return current }
                if let deadline, deadline <= .now { return current }
                if host?.hosts(key) == true { continue }
                let nextCheck = ContinuousClock.now + pollInterval
                await waiter.wait(until: deadline.map { min($0, nextCheck) } ?? nextCheck)
                try Task.checkCancellation()
            }
        }
    }

    /// Waits for a typed execution's output.
    /// - Returns: The output.
    /// - Throws: The execution's error as a ``WorkflowError`` if it failed or was cancelled; `timed_out` if it did
    ///   not finish in time.
    public func result<W: Workflow>(of workflow: W.Type, id: String, timeout: Duration? = nil) async throws -> W.Output {
        let record = try await result(workflow: W.name, id: id, timeout: timeout)
        switch record.status {
        case .completed:
            return try coder.decode(W.Output.self, from: record.output ?? "null", what: "output of \(W.name)")
        case .failed, .cancelled:
            let error = record.error ?? FailureInfo(code: record.status.rawValue, message: "execution \(record.status)")
            throw WorkflowError(WorkflowError.Code(error.code), error.message)
        default:
            throw WorkflowError(.timedOut, "execution '\(id)' of \(W.name) is still \(record.status)")
        }
    }

    // MARK: Change

    /// Cancels an unfinished execution: the outcome is stored at once, a waiting execution is woken, and the
    /// workflow sees a `cancelled` error at its next durable call. Cancelling a finished execution changes nothing.
    /// - Throws: ``WorkflowError`` `unknown_execution`.
    public func cancel(workflow: String, id: String) async throws -> CancelOutcome {
        try Self.checkIdentity(workflow: workflow, id: id)
        // A run hosted here is woken in memory below; a NOTIFY would only launch a second run to find it cancelled.
        let local = host?.hostedKey(workflow: workflow, id: id)
        let outcome = try await store.cancelExecution(workflow: workflow, id: id, announce: local == nil)
        if outcome.cancelled {
            RoostMetrics.executionFinished(workflow: workflow, status: .cancelled)
            host?.changed(outcome.key)
        }
        return outcome
    }

    /// Retries a failed execution from its point of failure: its journal is kept, the failed activity that ended
    /// it runs again with fresh attempts, and its shard's owner resumes it by replay. Guarded by the status: an
    /// execution that is not failed is left as it is and the outcome says `retried: false` with its status, so of
    /// many concurrent retries exactly one retries and the others say what the winner's retry led to.
    /// - Throws: ``WorkflowError`` `unknown_execution`.
    public func retry(workflow: String, id: String) async throws -> RetryOutcome {
        try Self.checkIdentity(workflow: workflow, id: id)
        let outcome = try await store.retryExecution(workflow: workflow, id: id)
        if outcome.retried { host?.changed(outcome.key) }
        return outcome
    }

    /// Deletes a finished execution (completed, failed or cancelled) with its journal and deferreds, before its
    /// retention would. Its id may then start a new execution.
    /// - Returns: The outcome, with the status the execution had.
    /// - Throws: ``WorkflowError`` `unknown_execution`; `not_allowed` if it has not finished (cancel it first).
    public func delete(workflow: String, id: String) async throws -> DeleteOutcome {
        try Self.checkIdentity(workflow: workflow, id: id)
        let outcome = try await store.deleteExecution(workflow: workflow, id: id)
        guard outcome.deleted else {
            throw WorkflowError(.notAllowed, "execution '\(id)' of \(workflow) is \(outcome.status): only a "
                                + "finished execution can be deleted; cancel it first")
        }
        return outcome
    }

    /// Runs a finished execution again as a new execution `newId` with the original input (as stored, never a
    /// redacted copy). Guarded by the status: an execution still running is not replayed. `newId` is the new
    /// execution's idempotency key: replaying again with it returns the same execution.
    /// - Throws: ``WorkflowError`` `unknown_execution`; `not_allowed` if it has not finished; `conflict` if
    ///   `newId` names an execution with another input.
    public func replay(workflow: String, id: String, as newId: String) async throws -> StartResult {
        try Self.checkIdentity(workflow: workflow, id: id)
        try Self.checkIdentity(workflow: workflow, id: newId)
        let shard = try await placement?.shard(of: newId)
        switch try await store.replayExecution(workflow: workflow, id: id, as: newId, shard: shard) {
        case .replayed(let record):
            RoostMetrics.executionStarted(workflow: workflow)
            return StartResult(record: record, created: true)
        case .unfinished(let status):
            throw WorkflowError(.notAllowed, "execution '\(id)' of \(workflow) is \(status): only a finished "
                                + "execution can be replayed")
        case .idTaken(let record, let sameInput):
            guard sameInput else {
                throw WorkflowError(.conflict, "execution '\(newId)' of \(workflow) already exists with another "
                                    + "input; choose another id for the replay")
            }
            return StartResult(record: record, created: false)
        }
    }

    /// Resolves a deferred of an execution with a JSON value. The first value is kept: resolving again returns
    /// `resolved: false` and the stored value.
    /// - Parameter by: Who resolves it (a person, a service, the way in), kept with the value and shown by
    ///   ``detail(workflow:id:)``; at most 200 bytes.
    /// - Throws: ``WorkflowError`` `unknown_execution`, `invalid_payload` (naming the deferred and its type, where
    ///   the workflow declares it), `payload_too_large`, `invalid_argument`.
    public func resolve(workflow: String, id: String, deferred: String, value: String,
                        by: String? = nil) async throws -> ResolveOutcome {
        try Self.checkIdentity(workflow: workflow, id: id)
        guard !deferred.isEmpty else { throw WorkflowError(.invalidArgument, "the deferred name is empty") }
        if let by, by.isEmpty || by.utf8.count > 200 {
            throw WorkflowError(.invalidArgument, "who resolves a deferred ('by') must have 1 to 200 bytes; this has "
                                + "\(by.utf8.count)")
        }
        try coder.validate(json: value, what: "value of deferred '\(deferred)'")
        if let registry, registry.names.contains(workflow) {
            try registry.validateDeferred(workflow: workflow, deferred: deferred, json: value, coder: coder)
        }
        let local = host?.hostedKey(workflow: workflow, id: id)
        let outcome = try await store.resolveDeferred(workflow: workflow, id: id, name: deferred, value: value,
                                                      by: by, announce: local == nil)
        if outcome.resolved {
            // The value is handed to a waiting run at once; the wake-up that follows covers a run that parked
            // between the check above and now (it has no waiter to hand the value to, and no NOTIFY was sent).
            if local != nil { host?.delivered(outcome.key, deferred: deferred, value: outcome.value) }
            host?.changed(outcome.key)
        }
        return outcome
    }

    /// Resolves a typed deferred of an execution of a workflow type.
    /// - Returns: Whether this call stored the value, and the stored (first) value.
    public func resolve<W: Workflow, Value>(_ deferred: Deferred<Value>, of workflow: W.Type, id: String,
                                            value: Value, by: String? = nil) async throws
        -> (resolved: Bool, value: Value) {
        let json = try coder.encode(value, what: "value of deferred '\(deferred.name)'")
        let outcome = try await resolve(workflow: W.name, id: id, deferred: deferred.name, value: json, by: by)
        return (outcome.resolved, try coder.decode(Value.self, from: outcome.value, what: "stored value"))
    }

    static func checkIdentity(workflow: String, id: String) throws {
        guard !workflow.isEmpty else { throw WorkflowError(.invalidArgument, "the workflow name is empty") }
        guard !id.isEmpty else { throw WorkflowError(.invalidArgument, "the execution id is empty") }
        guard id.utf8.count <= 512, workflow.utf8.count <= 256 else {
            throw WorkflowError(.invalidArgument, "execution ids are limited to 512 bytes and workflow names to 256")
        }
    }
}

/// The result of starting an execution.
public struct StartResult: Sendable {
    /// The execution as stored.
    public var record: ExecutionRecord
    /// Whether this call created it (false: an execution with that id existed, with the same input).
    public var created: Bool

    /// Creates a result.
    public init(record: ExecutionRecord, created: Bool) {
        self.record = record
        self.created = created
    }
}

/// A process that runs executions: told of new ones and of changes made in the same process.
protocol ExecutionHost: Sendable {
    /// Runs a new execution inserted in this process.
    func launch(_ record: ExecutionRecord)
    /// Whether this process runs executions of the shard (`nil`: not yet placed) now.
    func holds(shard: Int?) -> Bool
    /// Wakes the execution after a resolve or cancel in this process.
    func changed(_ key: ExecutionKey)
    /// Whether this process runs the execution now.
    func hosts(_ key: ExecutionKey) -> Bool
    /// The key of the execution if this process runs it now.
    func hostedKey(workflow: String, id: String) -> ExecutionKey?
    /// Hands a deferred value resolved in this process to the hosted execution.
    func delivered(_ key: ExecutionKey, deferred: String, value: String)
}
