import Roost
import RoostClient

/// What the `roost workflow` and `roost deferred` commands ask of executions: answered by the client library
/// against the database, or by a runner's HTTP API (`--runner URL --token T`).
protocol ExecutionsAPI: Sendable {
    func start(workflow: String, id: String, input: String) async throws -> StartResult
    func result(workflow: String, id: String, timeout: Duration?) async throws -> ExecutionRecord
    func status(workflow: String, id: String) async throws -> ExecutionRecord
    func detail(workflow: String, id: String) async throws -> ExecutionDetail
    func list(_ filter: ExecutionFilter) async throws -> [ExecutionRecord]
    func stuck(olderThan age: Duration, limit: Int) async throws -> [StuckExecution]
    func cancel(workflow: String, id: String) async throws -> CancelOutcome
    func retry(workflow: String, id: String) async throws -> RetryOutcome
    func replay(workflow: String, id: String, as newId: String) async throws -> StartResult
    func resolve(workflow: String, id: String, deferred: String, value: String) async throws -> ResolveOutcome
}

extension RoostClient: ExecutionsAPI {}
