import Foundation

/// The durable operations the workflow runtime needs from its database.
///
/// `RoostPostgres` implements it. Every write an execution makes goes through one of the guarded operations
/// (``record(key:entries:status:lease:)``, ``runActivity(key:entries:status:lease:context:body:)``,
/// ``finish(key:entries:outcome:lease:)``), which commit only while the execution is still running or waiting and,
/// given the run's shard lease, only while that lease is held; otherwise they throw ``ExecutionNotWritable`` and
/// nothing is written.
///
/// In a cluster, every execution belongs to a shard: `StableHash(id) mod shardsPerGroup` in the default shard
/// group. Operations that take `shards` see only executions of those shards; `nil` means every execution (a process
/// that is not part of a cluster).
public protocol WorkflowStore: Sendable {
    /// Inserts an execution unless one with the same workflow and id exists.
    /// - Returns: The new record, or the existing one and whether its input equals the given input.
    func insertExecution(_ execution: NewExecution) async throws -> InsertOutcome

    /// Inserts executions, each unless one with the same workflow and id exists, in one statement; pending ones
    /// are announced with one notification for the batch (``StoreNotification/wakeUpsFlagged``). A member the
    /// database refuses (its input, say) fails alone.
    /// - Returns: One outcome per execution, in order: as ``insertExecution(_:)``'s, or the error that refused it.
    func insertExecutions(_ executions: [NewExecution]) async throws -> [Result<InsertOutcome, any Error>]

    /// The execution with that workflow and id.
    func execution(workflow: String, id: String) async throws -> ExecutionRecord?

    /// The execution with that key.
    func execution(key: ExecutionKey) async throws -> ExecutionRecord?

    /// Executions matching the filter, newest first.
    func listExecutions(_ filter: ExecutionFilter) async throws -> [ExecutionRecord]

    /// An execution's journal, by position.
    func journal(key: ExecutionKey) async throws -> [JournalEntry]

    /// Takes an unfinished execution of one of `workflows` over for this process: `pending` becomes `running`,
    /// and the attempt number grows unless the execution was waiting (waking a waiting execution, here or on the
    /// runner that took its shard over, is not a new attempt; taking over one that was pending or running is).
    /// A pending or running execution's wake-up flag is cleared (the acquisition of its shard, or the
    /// reconciliation, launches it anyway); a waiting one's stays until its run acts on it (see
    /// ``settleWakeUp(key:seen:)``).
    /// - Parameter shards: The leases this process holds; `nil` outside a cluster.
    /// - Returns: The execution and its journal, or `nil` if it has finished, is of another workflow, or belongs
    ///   to a shard not held at its epoch.
    func claimExecution(key: ExecutionKey, workflows: [String], shards: [ShardLease]?) async throws
        -> ClaimedExecution?

    /// The keys of the unfinished executions of `workflows` in `shards` that a run must be working on now: pending
    /// or running, not waiting. They are what a process launches at start-up and when it acquires shards, and what
    /// the reconciliation launches when no run in memory works on one. Waiting executions stay in the database
    /// until a wake-up (``takeWakeUps(workflows:leases:)``) or their due time
    /// (``dueExecutions(workflows:shards:before:count:)``).
    /// - Parameter shards: The shards held; `nil` outside a cluster (every execution).
    func runnableExecutions(workflows: [String], shards: [Int]?) async throws -> [ExecutionKey]

    /// The waiting executions of `workflows` in `shards` whose wait is due before `limit` (a sleep's due time, a
    /// deferred wait's deadline, an activity's next attempt), soonest first, at most `count`: one index range
    /// however many executions wait.
    /// - Parameter shards: The shards held; `nil` outside a cluster.
    func dueExecutions(workflows: [String], shards: [Int]?, before limit: Date, count: Int) async throws
        -> [DueExecution]

    /// The executions of `workflows` flagged for a wake-up (resolves, cancels and starts made anywhere, runs handed
    /// off): one batched query however many executions wait.
    ///
    /// A waiting execution's flag stays until its run acts on it: its next change of status or its outcome clears
    /// it, and so does its run parking with nothing new since its last look (``settleWakeUp(key:seen:)``). So a
    /// runner that dies between this call and the run leaves the flag for the next owner. Flags of executions
    /// that are not waiting are cleared here: their shard's acquisition and the reconciliation launch pending and
    /// running executions anyway, and a finished one needs nothing. An execution a run is writing at that moment
    /// keeps its flag for the next call.
    ///
    /// In a cluster only the executions of shards held at these leases' epochs by a live runner are taken, so a
    /// runner that has not yet noticed losing a shard leaves its new owner's flags alone.
    /// - Parameter leases: The leases this process holds; `nil` outside a cluster.
    func takeWakeUps(workflows: [String], leases: [ShardLease]?) async throws -> [ExecutionKey]

    /// Clears a waiting execution's wake-up flag after its run parked, unless something changed from outside since
    /// the run's last look (`seen`): a resolve committed after that look keeps the flag, and the poll wakes the
    /// execution again.
    func settleWakeUp(key: ExecutionKey, seen: WakeMark) async throws

    /// The database's clock: due times (sleeps, deferred timeouts, back-offs) are compared with it, never with a
    /// runner's own.
    func databaseNow() async throws -> Date

    /// Whether the runners of a cluster stored their settings in this store: an engine without a placement must not
    /// run beside them.
    func belongsToCluster() async throws -> Bool

    /// Stores the workflows a runner hosts, replacing what any runner published under the same names.
    func publish(_ workflows: [PublishedWorkflow]) async throws

    /// The workflows runners of the cluster published, by name.
    func publishedWorkflows() async throws -> [PublishedWorkflow]

    /// Hands an unfinished execution whose run stopped without finishing (its shard left, its lease was lost) to
    /// whoever holds its shard now: flags it for the wake-up poll (a change its runs must act on) and notifies.
    /// Does nothing to a finished one.
    func handOff(key: ExecutionKey) async throws

    /// Gives unfinished executions stored without a shard (started before the cluster's settings were known, or
    /// before executions had shards) their shard.
    /// - Returns: How many were placed.
    func placeUnplacedExecutions(shardOf: @Sendable (String) -> Int) async throws -> Int

    /// Unfinished executions that made no progress for `age` because no live runner holds their shard (or they
    /// have no shard yet), oldest first, at most `limit`.
    func stuckExecutions(olderThan age: Duration, limit: Int) async throws -> [StuckExecution]

    /// Writes journal entries and, if `status` is given, sets the status, if the execution is still running or
    /// waiting and `lease` (if any) is held.
    /// - Throws: ``ExecutionNotWritable`` if it is not.
    func record(key: ExecutionKey, entries: [JournalEntry], status: ExecutionStatus?, lease: ShardLease?) async throws

    /// Runs an activity's body in a transaction that commits together with its journal entries.
    ///
    /// `body` runs and returns the activity's completed journal entry; it is written after `entries`
    /// (deterministic values not yet journaled), with `status` if given. Errors thrown by `body` are wrapped in
    /// ``ActivityBodyError`` (after a rollback); storage errors and ``ExecutionNotWritable`` are not.
    func runActivity(key: ExecutionKey, entries: [JournalEntry], status: ExecutionStatus?, lease: ShardLease?,
                     context: ActivityContext,
                     body: (ActivityTransaction) async throws -> JournalEntry) async throws

    /// Runs an activity that is one statement of the storage's query language together with its journal entries
    /// in a single statement: `entries` (deterministic values not yet journaled) and `completed`, with `status` if
    /// given, commit with the statement or not at all.
    ///
    /// `statement` is the driver's statement type. Errors the statement raises are wrapped in
    /// ``ActivityBodyError``; storage errors and ``ExecutionNotWritable`` are not.
    func runStatementActivity(key: ExecutionKey, entries: [JournalEntry], status: ExecutionStatus?,
                              lease: ShardLease?, statement: any Sendable, completed: JournalEntry) async throws

    /// Finishes the execution with its outcome, writing the last journal entries, if it is still running or
    /// waiting and `lease` (if any) is held; callers awaiting the result are notified.
    /// - Returns: The finished execution as stored.
    /// - Throws: ``ExecutionNotWritable`` if it is not.
    func finish(key: ExecutionKey, entries: [JournalEntry], outcome: ExecutionOutcome,
                lease: ShardLease?) async throws -> ExecutionRecord

    /// The execution's status and, if `deferred` is given, that deferred's value.
    func waitState(key: ExecutionKey, deferred: String?) async throws -> WaitState

    /// Cancels an unfinished execution and, if `announce`, wakes it wherever it runs (a process that hosts the
    /// execution itself wakes it in memory instead).
    func cancelExecution(workflow: String, id: String, announce: Bool) async throws -> CancelOutcome

    /// Everything stored about an execution; `nil` if there is none with that workflow and id.
    func executionDetail(workflow: String, id: String) async throws -> ExecutionDetail?

    /// Deletes a finished execution (completed, failed or cancelled) with its journal and deferreds. An unfinished
    /// one is left as it is: the outcome says what it is.
    /// - Throws: ``WorkflowError`` `unknown_execution` if there is none.
    func deleteExecution(workflow: String, id: String) async throws -> DeleteOutcome

    /// The names of the workflows that have finished executions stored, whether this process runs them or not.
    func finishedWorkflows() async throws -> [String]

    /// Deletes at most `limit` executions of `workflow` that finished more than `age` ago by the store's clock,
    /// oldest first, with their journals and deferreds; an execution a concurrent change holds is left for later.
    /// - Returns: How many were deleted.
    func deleteFinishedExecutions(workflow: String, finishedBefore age: Duration, limit: Int) async throws -> Int

    /// Puts a failed execution back to `pending` and wakes its shard's owner, keeping its journal but for a failed
    /// activity that ended it (its last entry), which runs again with fresh attempts. Any other status is left as
    /// it is: the outcome says what it is.
    func retryExecution(workflow: String, id: String) async throws -> RetryOutcome

    /// Inserts execution `newId` of the same workflow, `pending`, with the stored input of execution `id`, if that
    /// one has finished (completed, failed or cancelled); the source is share-locked meanwhile, so a concurrent
    /// retry waits. Nothing is inserted if `newId` exists.
    func replayExecution(workflow: String, id: String, as newId: String, shard: Int?) async throws -> ReplayOutcome

    /// Stores a deferred's value unless one is stored and, if `announce`, wakes the execution wherever it runs
    /// (a process that hosts the execution itself wakes it in memory instead). `by` is kept as who resolved it.
    func resolveDeferred(workflow: String, id: String, name: String, value: String, by: String?,
                         announce: Bool) async throws -> ResolveOutcome

    /// Asks for a notification when the execution finishes, and reads it.
    /// - Returns: The execution as it stands once watched; `nil` if it does not exist.
    func watchCompletion(workflow: String, id: String) async throws -> ExecutionRecord?

    /// Registers a handler for notifications from other processes; it must return quickly.
    /// - Returns: A token for ``removeNotificationHandler(_:)``.
    func addNotificationHandler(_ handler: @escaping @Sendable (StoreNotification) -> Void) -> Int

    /// Removes a handler.
    func removeNotificationHandler(_ token: Int)
}

/// A notification from the store about a change made by any process.
public enum StoreNotification: Sendable, Hashable {
    /// Something the execution may be waiting for changed (resolve, cancel) or it was started elsewhere; `shard` is
    /// its shard, if it has one, so that only the runner holding it acts.
    case wake(ExecutionKey, shard: Int?)
    /// The execution finished.
    case finished(ExecutionKey)
    /// Executions were flagged for wake-ups in bulk (a batch start): runners poll for their flags now.
    case wakeUpsFlagged
    /// The listening connection was re-established: notifications may have been missed.
    case resumed
}

/// An execution to insert.
public struct NewExecution: Sendable {
    /// The workflow's name.
    public var workflow: String
    /// The execution id.
    public var id: String
    /// The input as JSON text.
    public var input: String
    /// `running` when the inserting process runs it at once, `pending` when a runner must pick it up.
    public var status: ExecutionStatus
    /// Its shard, if the cluster's settings are known; runners place executions stored without one.
    public var shard: Int?
    /// The start's tracing context as JSON text (see `TraceCarrier`), for its runs to continue.
    public var traceContext: String?

    /// Creates an execution to insert.
    public init(workflow: String, id: String, input: String, status: ExecutionStatus, shard: Int? = nil,
                traceContext: String? = nil) {
        self.workflow = workflow
        self.id = id
        self.input = input
        self.status = status
        self.shard = shard
        self.traceContext = traceContext
    }
}

/// The result of ``WorkflowStore/insertExecution(_:)``.
public enum InsertOutcome: Sendable {
    /// Inserted.
    case inserted(ExecutionRecord)
    /// An execution with that id exists; `sameInput` says whether its input equals the given one.
    case existing(ExecutionRecord, sameInput: Bool)
}

/// An execution taken over by ``WorkflowStore/claimExecution(key:)``.
public struct ClaimedExecution: Sendable {
    /// The execution.
    public var record: ExecutionRecord
    /// Its journal, by position.
    public var journal: [JournalEntry]
    /// The tracing context its start stored, as JSON text.
    public var traceContext: String?
    /// The changes from outside the claim saw: the run's first look.
    public var wakeMark: WakeMark

    /// Creates a claimed execution.
    public init(record: ExecutionRecord, journal: [JournalEntry], traceContext: String? = nil,
                wakeMark: WakeMark = WakeMark()) {
        self.record = record
        self.journal = journal
        self.traceContext = traceContext
        self.wakeMark = wakeMark
    }
}

/// How an execution ended.
public enum ExecutionOutcome: Sendable {
    /// Completed with this output JSON.
    case completed(String)
    /// Failed with this error.
    case failed(FailureInfo)
}

/// What a waiting execution re-reads when woken.
public struct WaitState: Sendable {
    /// The execution's status; `nil` if it no longer exists.
    public var status: ExecutionStatus?
    /// The awaited deferred's value, if resolved.
    public var value: String?

    /// When the awaited deferred was resolved, on the store's clock.
    public var resolvedAt: Date?
    /// The changes from outside this read saw.
    public var wakeMark: WakeMark

    /// Creates a wait state.
    public init(status: ExecutionStatus?, value: String?, resolvedAt: Date? = nil, wakeMark: WakeMark = WakeMark()) {
        self.status = status
        self.value = value
        self.resolvedAt = resolvedAt
        self.wakeMark = wakeMark
    }
}

/// What a run saw, at one look at its execution, of the changes made to it from outside that it may have to act
/// on (resolves, hand-offs, retries): parking clears the execution's wake-up flag only if none came since.
public struct WakeMark: Sendable, Hashable {
    /// How many such changes the execution had had.
    public var sequence: Int
    /// Whether the execution was flagged for a wake-up.
    public var flagged: Bool

    /// Creates a mark; the default is that of a new execution, which nothing has changed yet.
    public init(sequence: Int = 0, flagged: Bool = false) {
        self.sequence = sequence
        self.flagged = flagged
    }
}

/// A waiting execution whose wait falls due, from ``WorkflowStore/dueExecutions(workflows:shards:before:count:)``.
public struct DueExecution: Sendable, Hashable {
    /// The execution.
    public var key: ExecutionKey
    /// When its wait is due, on the database's clock.
    public var due: Date
    /// Its shard, if it has one.
    public var shard: Int?

    /// Creates a due execution.
    public init(key: ExecutionKey, due: Date, shard: Int?) {
        self.key = key
        self.due = due
        self.shard = shard
    }
}

/// What ``WorkflowStore/deleteExecution(workflow:id:)`` did.
public struct DeleteOutcome: Sendable, Codable, Hashable {
    /// Whether this call deleted the execution (false if it had not finished).
    public var deleted: Bool
    /// The execution's status: the one it had when it was deleted, or the one it still has.
    public var status: ExecutionStatus

    /// Creates an outcome.
    public init(deleted: Bool, status: ExecutionStatus) {
        self.deleted = deleted
        self.status = status
    }
}

/// The result of a cancel.
public struct CancelOutcome: Sendable, Codable, Hashable {
    /// Whether this call cancelled the execution (false if it had already finished).
    public var cancelled: Bool
    /// The status after the call.
    public var status: ExecutionStatus
    /// The execution's key.
    public var key: ExecutionKey

    /// Creates an outcome.
    public init(cancelled: Bool, status: ExecutionStatus, key: ExecutionKey) {
        self.cancelled = cancelled
        self.status = status
        self.key = key
    }
}

/// The result of a retry.
public struct RetryOutcome: Sendable, Codable, Hashable {
    /// Whether this call put the execution back to `pending` (false if it was not failed).
    public var retried: Bool
    /// The status after the call.
    public var status: ExecutionStatus
    /// The execution's key.
    public var key: ExecutionKey

    /// Creates an outcome.
    public init(retried: Bool, status: ExecutionStatus, key: ExecutionKey) {
        self.retried = retried
        self.status = status
        self.key = key
    }
}

/// The result of ``WorkflowStore/replayExecution(workflow:id:as:shard:)``.
public enum ReplayOutcome: Sendable {
    /// The new execution.
    case replayed(ExecutionRecord)
    /// The source has not finished: nothing was inserted.
    case unfinished(ExecutionStatus)
    /// An execution with the new id exists: nothing was inserted.
    case idTaken(ExecutionRecord, sameInput: Bool)
}

/// The result of a resolve.
public struct ResolveOutcome: Sendable, Codable, Hashable {
    /// Whether this call stored the value (false if a value was stored before; that first value is kept).
    public var resolved: Bool
    /// The stored value as JSON text: the given one, or the first one if it was resolved before.
    public var value: String
    /// The execution's key.
    public var key: ExecutionKey

    /// Creates an outcome.
    public init(resolved: Bool, value: String, key: ExecutionKey) {
        self.resolved = resolved
        self.value = value
        self.key = key
    }
}

/// Thrown by a guarded write when the execution is no longer running or waiting (cancelled, finished elsewhere).
public struct ExecutionNotWritable: Error, Sendable {
    /// The execution's status now; `nil` if it no longer exists.
    public var status: ExecutionStatus?

    /// Creates the error.
    public init(status: ExecutionStatus?) {
        self.status = status
    }
}

/// Wraps an error thrown by an activity's body, so the runtime can tell it from a storage failure.
public struct ActivityBodyError: Error, Sendable {
    /// The body's error.
    public var underlying: any Error

    /// Wraps an error.
    public init(_ underlying: any Error) {
        self.underlying = underlying
    }
}

/// An execution accepted but not progressing: no live runner holds its shard.
public struct StuckExecution: Sendable, Codable, Hashable {
    /// The workflow's name.
    public var workflow: String
    /// The execution id.
    public var id: String
    /// Its shard; `nil` if it has none yet.
    public var shard: Int?
    /// When it last changed.
    public var updatedAt: Date

    /// The longest time without progress a stuck check may ask about, in seconds: 100 years. Longer ones are
    /// refused rather than passed to the database, whose intervals have a range.
    public static let longestAgeSeconds = 3_155_760_000

    /// A stuck execution.
    public init(workflow: String, id: String, shard: Int?, updatedAt: Date) {
        self.workflow = workflow
        self.id = id
        self.shard = shard
        self.updatedAt = updatedAt
    }
}
