import Roost
import RoostClient
import RoostPostgres

/// What the `roost workflow` and `roost deferred` commands ask of executions: answered by the client library
/// against the database, or by a runner's HTTP API (`--runner URL --token T`).
protocol ExecutionsAPI: Sendable {
    func start(workflow: String, id: String, input: String) async throws -> StartResult
    func result(workflow: String, id: String, timeout: Duration?) async throws -> ExecutionRecord
    func status(workflow: String, id: String) async throws -> ExecutionRecord
    func detail(workflow: String, id: String) async throws -> ExecutionDetail
    func page(_ filter: ExecutionFilter) async throws -> ExecutionPage
    func stuck(olderThan age: Duration, limit: Int) async throws -> [StuckExecution]
    func cancel(workflow: String, id: String) async throws -> CancelOutcome
    func retry(workflow: String, id: String) async throws -> RetryOutcome
    func delete(workflow: String, id: String) async throws -> DeleteOutcome
    func replay(workflow: String, id: String, as newId: String) async throws -> StartResult
    func resolve(workflow: String, id: String, deferred: String, value: String, by: String?) async throws
        -> ResolveOutcome
    func schedules() async throws -> [ScheduleRecord]
}

/// One page of a listing, newest first, and the cursor of the next page if this one is full.
struct ExecutionPage {
    var records: [ExecutionRecord]
    var nextCursor: String?
}

extension RoostClient: ExecutionsAPI {
    func schedules() async throws -> [ScheduleRecord] {
        try await ScheduleRecord.read(from: storage.schedules, cluster: storage.cluster)
    }

    func page(_ filter: ExecutionFilter) async throws -> ExecutionPage {
        let records = try await list(filter)
        // As the HTTP API pages: a full page may have a next one, which starts after its last execution.
        return ExecutionPage(records: records,
                             nextCursor: records.count == filter.limit ? records.last.map { "\($0.key)" } : nil)
    }
}
