import PostgresNIO
import Roost

/// Deleting finished executions: on demand, and in bounded batches once they are past their retention.
///
/// A deletion locks the executions it takes (`FOR UPDATE`, skipping those a concurrent change holds) in one
/// statement and deletes them, their journals and their deferreds in the next, in one transaction. The second
/// statement reads a snapshot taken once the rows are locked, so a resolve that committed before it is deleted
/// with them, and one that comes after finds no execution (``Statements/Resolve`` key-share-locks it): no deferred
/// is left behind without its execution.
extension PostgresWorkflowStore {
    public func deleteExecution(workflow: String, id: String) async throws -> DeleteOutcome {
        try await client.withConnection { connection in
            try await connection.inTransaction(logger: logger) {
                let found = try await rows("""
                    SELECT key, status FROM \(unescaped: schema).executions
                    WHERE workflow = \(workflow) AND id = \(id) FOR UPDATE
                    """, on: connection).first
                guard let found else {
                    throw WorkflowError(.unknownExecution, "no execution '\(id)' of workflow '\(workflow)'")
                }
                let (key, text) = try found.decode((ExecutionKey, String).self)
                let status = ExecutionStatus(text) ?? .completed
                guard status.isTerminal else { return DeleteOutcome(deleted: false, status: status) }
                try await delete([key], on: connection)
                return DeleteOutcome(deleted: true, status: status)
            }
        }
    }

    public func finishedWorkflows() async throws -> [String] {
        // One probe of the finished executions' index per workflow name, however many executions each has.
        try await collect("""
            WITH RECURSIVE names AS (
                SELECT min(workflow) AS name FROM \(unescaped: schema).executions WHERE finished_at IS NOT NULL
                UNION ALL
                SELECT (SELECT min(workflow) FROM \(unescaped: schema).executions
                        WHERE finished_at IS NOT NULL AND workflow > names.name)
                FROM names WHERE names.name IS NOT NULL
            )
            SELECT name FROM names WHERE name IS NOT NULL
            """, as: String.self)
    }

    public func deleteFinishedExecutions(workflow: String, finishedBefore age: Duration,
                                         limit: Int) async throws -> Int {
        try await client.withConnection { connection in
            try await connection.inTransaction(logger: logger) {
                let keys = try await rows("""
                    SELECT key FROM \(unescaped: schema).executions
                    WHERE workflow = \(workflow) AND finished_at IS NOT NULL
                      AND finished_at < now() - \(age.wholeMilliseconds) * interval '1 millisecond'
                    ORDER BY finished_at LIMIT \(limit)
                    FOR UPDATE SKIP LOCKED
                    """, on: connection).map { try $0.decode(ExecutionKey.self) }
                guard !keys.isEmpty else { return 0 }
                return try await delete(keys, on: connection)
            }
        }
    }

    /// Deletes locked finished executions with their journals and deferreds.
    /// - Returns: How many executions were deleted.
    @discardableResult
    private func delete(_ keys: [ExecutionKey], on connection: PostgresConnection) async throws -> Int {
        try await rows("""
            WITH journal AS (
                DELETE FROM \(unescaped: schema).journal WHERE execution = ANY(\(keys)::bigint[]) RETURNING 1
            ), deferreds AS (
                DELETE FROM \(unescaped: schema).deferreds WHERE execution = ANY(\(keys)::bigint[]) RETURNING 1
            ), executions AS (
                DELETE FROM \(unescaped: schema).executions
                WHERE key = ANY(\(keys)::bigint[]) AND status IN ('completed', 'failed', 'cancelled')
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM executions)::int
                   + 0 * (SELECT count(*) FROM journal) + 0 * (SELECT count(*) FROM deferreds)
            """, on: connection).first?.decode(Int.self) ?? 0
    }
}
