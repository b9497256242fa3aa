import Logging
import Roost
import RoostPostgres

/// The client library: starts executions, reads and awaits their results, cancels them and resolves deferreds,
/// with nothing but a database URL — no runner needs to be up.
///
/// ```swift
/// try await withRoostClient(StorageConfiguration(url: url), logger: logger) { client in
///     try await client.start(Approval.self, id: "req-1", input: .init(requestId: "req-1", coolOffMs: 0))
///     try await client.resolve(Approval.decision, of: Approval.self, id: "req-1",
///                              value: .init(approved: true, by: "ada"))
///     let decision = try await client.result(of: Approval.self, id: "req-1")
/// }
/// ```
public struct RoostClient: Sendable {
    /// The operations on executions. Every method of ``RoostClient`` forwards here.
    public let executions: Executions
    /// The storage the client runs on.
    public let storage: PostgresStorage

    /// Starts an execution of a workflow type, or returns the existing one with that id (same input).
    public func start<W: Workflow>(_ workflow: W.Type, id: String, input: W.Input) async throws -> StartResult {
        try await executions.start(workflow, id: id, input: input)
    }

    /// Starts an execution from JSON, or returns the existing one with that id (same input).
    public func start(workflow: String, id: String, input: String) async throws -> StartResult {
        try await executions.start(workflow: workflow, id: id, input: input)
    }

    /// Starts many executions of a workflow type with one statement, each idempotent by its id and refused alone
    /// when its input is bad. See ``Executions/start(_:_:)``.
    public func start<W: Workflow>(_ workflow: W.Type, _ members: [(id: String, input: W.Input)]) async throws
        -> [Result<StartResult, WorkflowError>] {
        try await executions.start(workflow, members)
    }

    /// Starts many executions from JSON with one statement. See ``Executions/start(_:)``.
    public func start(_ requests: [Executions.StartRequest]) async throws -> [Result<StartResult, WorkflowError>] {
        try await executions.start(requests)
    }

    /// Waits for a typed execution's output. See ``Executions/result(of:id:timeout:)``.
    public func result<W: Workflow>(of workflow: W.Type, id: String, timeout: Duration? = nil) async throws -> W.Output {
        try await executions.result(of: workflow, id: id, timeout: timeout)
    }

    /// Waits until the execution finishes or the timeout passes. See ``Executions/result(workflow:id:timeout:)``.
    public func result(workflow: String, id: String, timeout: Duration?) async throws -> ExecutionRecord {
        try await executions.result(workflow: workflow, id: id, timeout: timeout)
    }

    /// The execution as it stands.
    public func status(workflow: String, id: String) async throws -> ExecutionRecord {
        try await executions.status(workflow: workflow, id: id)
    }

    /// Executions matching the filter, newest first.
    public func list(_ filter: ExecutionFilter = ExecutionFilter()) async throws -> [ExecutionRecord] {
        try await executions.list(filter)
    }

    /// Unfinished executions that made no progress for `age` because no live runner holds their shard.
    public func stuck(olderThan age: Duration = .seconds(60), limit: Int = 1_000) async throws -> [StuckExecution] {
        try await storage.store.stuckExecutions(olderThan: age, limit: limit)
    }

    /// Cancels an unfinished execution; a no-op that says so for a finished one.
    public func cancel(workflow: String, id: String) async throws -> CancelOutcome {
        try await executions.cancel(workflow: workflow, id: id)
    }

    /// Everything stored about an execution. See ``Executions/detail(workflow:id:)``.
    public func detail(workflow: String, id: String) async throws -> ExecutionDetail {
        try await executions.detail(workflow: workflow, id: id)
    }

    /// Deletes a finished execution with its journal and deferreds. See ``Executions/delete(workflow:id:)``.
    public func delete(workflow: String, id: String) async throws -> DeleteOutcome {
        try await executions.delete(workflow: workflow, id: id)
    }

    /// Retries a failed execution from its point of failure. See ``Executions/retry(workflow:id:)``.
    public func retry(workflow: String, id: String) async throws -> RetryOutcome {
        try await executions.retry(workflow: workflow, id: id)
    }

    /// Runs a finished execution again as a new one with its original input. See
    /// ``Executions/replay(workflow:id:as:)``.
    public func replay(workflow: String, id: String, as newId: String) async throws -> StartResult {
        try await executions.replay(workflow: workflow, id: id, as: newId)
    }

    /// Resolves a typed deferred; the first value is kept.
    /// - Parameter by: Who resolves it, kept with the value; `client` if not given.
    @discardableResult
    public func resolve<W: Workflow, Value>(_ deferred: Deferred<Value>, of workflow: W.Type, id: String,
                                            value: Value, by: String? = nil) async throws
        -> (resolved: Bool, value: Value) {
        try await executions.resolve(deferred, of: workflow, id: id, value: value, by: by ?? "client")
    }

    /// Resolves a deferred with JSON; the first value is kept.
    /// - Parameter by: Who resolves it, kept with the value; `client` if not given.
    public func resolve(workflow: String, id: String, deferred: String, value: String,
                        by: String? = nil) async throws -> ResolveOutcome {
        try await executions.resolve(workflow: workflow, id: id, deferred: deferred, value: value, by: by ?? "client")
    }
}

/// Runs `body` with a client connected to the database, closing it afterwards.
/// - Parameters:
///   - configuration: The database and schema.
///   - registry: Workflows to check names and payloads against; the workflows runners of the cluster published are
///     declared in it too (names only: inputs and values of those are checked by the workflow when it reads them),
///     so a name neither it nor any runner has is refused with the list of both. `nil` checks only JSON and sizes.
///   - maximumPayloadBytes: The largest payload accepted. Defaults to 1 MiB.
///   - logger: The logger.
///   - body: The work.
/// - Returns: The body's result.
public func withRoostClient<Result: Sendable>(
    _ configuration: StorageConfiguration, registry: WorkflowRegistry? = nil, maximumPayloadBytes: Int = 1 << 20,
    logger: Logger, _ body: (RoostClient) async throws -> Result
) async throws -> Result {
    try await withPostgresStorage(configuration, logger: logger) { storage in
        let cluster = storage.cluster
        var registry = registry
        if registry != nil {
            for workflow in try await storage.store.publishedWorkflows() { registry?.declare(workflow) }
        }
        let executions = Executions(store: storage.store, registry: registry, maximumPayloadBytes: maximumPayloadBytes,
                                    placement: ExecutionPlacement(reading: { try await cluster.storedSettings() }))
        let token = storage.store.addNotificationHandler { executions.receive($0) }
        defer { storage.store.removeNotificationHandler(token) }
        return try await body(RoostClient(executions: executions, storage: storage))
    }
}
