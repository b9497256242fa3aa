import Logging
import Roost
import RoostPostgres

/// Runs a workflow engine in the background for the duration of `body`, then stops it as a shutdown would:
/// unfinished executions are abandoned, to be resumed by the next engine on the same schema.
/// - Parameters:
///   - storage: The storage the engine runs on.
///   - registry: The workflows it hosts.
///   - configuration: Engine settings.
///   - body: The test, given the running engine.
/// - Returns: The body's result.
public func withWorkflowEngine<Result: Sendable>(
    storage: PostgresStorage, registry: WorkflowRegistry,
    configuration: WorkflowEngine.Configuration = WorkflowEngine.Configuration(),
    _ body: (WorkflowEngine) async throws -> Result
) async throws -> Result {
    let engine = WorkflowEngine(store: storage.store, registry: registry, configuration: configuration,
                                logger: TestDatabase.logger)
    return try await withRunningEngine(engine) { try await body($0) }
}

/// Runs an engine in the background for the duration of `body`, then stops it as a shutdown would. `body` starts
/// once the engine has listed the executions it recovers.
/// - Parameters:
///   - engine: The engine; make an ``EngineEvents`` recorder for it first to see the events of its start-up.
///   - body: The test.
/// - Returns: The body's result.
public func withRunningEngine<Result: Sendable>(
    _ engine: WorkflowEngine, _ body: (WorkflowEngine) async throws -> Result
) async throws -> Result {
    let events = EngineEvents(engine)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await engine.run() }
        defer { group.cancelAll() }
        try await events.first { $0 == .started }
        return try await body(engine)
    }
}
