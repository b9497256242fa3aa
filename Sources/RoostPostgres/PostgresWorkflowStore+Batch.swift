import Foundation
import PostgresNIO
import Roost

extension PostgresWorkflowStore {
    public func insertExecutions(_ executions: [NewExecution]) async throws -> [Result<InsertOutcome, any Error>] {
        guard !executions.isEmpty else { return [] }
        let rows: [PostgresRow]
        do {
            rows = try await insertStatement(executions)
        } catch let error as PSQLError where error.serverInfo != nil {
            // An input the database refuses (a `\u0000` in its JSON, say) fails the whole statement, which then
            // inserted nothing: each member is inserted on its own, so that only the refused one fails.
            var outcomes: [Result<InsertOutcome, any Error>] = []
            for execution in executions {
                do {
                    outcomes.append(.success(try await insertExecution(execution)))
                } catch {
                    outcomes.append(.failure(error))
                }
            }
            return outcomes
        }
        return try await outcomes(of: executions, inserted: rows).map { .success($0) }
    }

    /// Inserts every execution that does not exist in one statement; pending ones are announced with one
    /// notification for the whole batch, which makes the runners poll for their flags.
    /// - Returns: The rows of the executions it inserted.
    private func insertStatement(_ executions: [NewExecution]) async throws -> [PostgresRow] {
        try await self.rows("""
            WITH batch AS (
                SELECT * FROM unnest(\(executions.map(\.workflow))::text[], \(executions.map(\.id))::text[],
                                     \(executions.map(\.status.rawValue))::text[],
                                     \(executions.map(\.input))::text[],
                                     \(executions.map { $0.shard ?? -1 })::int[],
                                     \(executions.map { $0.traceContext ?? "" })::text[])
                WITH ORDINALITY AS b(workflow, id, status, input, shard, trace, n)
            ), inserted AS (
                INSERT INTO \(unescaped: schema).executions
                    (workflow, id, status, input, attempt, wake_pending, shard, trace_context)
                SELECT workflow, id, status, input::jsonb, CASE WHEN status = 'pending' THEN 0 ELSE 1 END,
                       status = 'pending', nullif(shard, -1), nullif(trace, '')::jsonb
                FROM batch ORDER BY n
                ON CONFLICT (workflow, id) DO NOTHING
                RETURNING \(unescaped: Statements.recordColumns)
            ), notified AS (
                SELECT pg_notify(\(channel), 'p') WHERE EXISTS (SELECT 1 FROM inserted WHERE status = 'pending')
            )
            SELECT \(unescaped: Statements.recordColumns) FROM inserted
            WHERE (SELECT count(*) FROM notified) >= 0
            """, on: nil)
    }

    /// Each execution's outcome: inserted by the statement, or existing, read with one more statement.
    private func outcomes(of executions: [NewExecution], inserted rows: [PostgresRow]) async throws
        -> [InsertOutcome] {
        var inserted: [String: ExecutionRecord] = [:]
        for row in rows {
            let record = try Self.record(row)
            inserted[record.workflow + "\u{0}" + record.id] = record
        }
        let missing = executions.filter { inserted[$0.workflow + "\u{0}" + $0.id] == nil }
        var existing: [String: (ExecutionRecord, Bool)] = [:]
        if !missing.isEmpty {
            for row in try await self.rows("""
                SELECT \(unescaped: Statements.recordColumns), same, n FROM (
                    SELECT e.*, e.input = b.given::jsonb AS same, b.n
                    FROM unnest(\(missing.map(\.workflow))::text[], \(missing.map(\.id))::text[],
                                \(missing.map(\.input))::text[]) WITH ORDINALITY AS b(workflow, id, given, n)
                    JOIN \(unescaped: schema).executions e ON e.workflow = b.workflow AND e.id = b.id) x
                """, on: nil) {
                let columns = row.makeRandomAccess()
                let sameInput = try columns[11].decode(Bool.self, context: .default)
                let position = try columns[12].decode(Int.self, context: .default)
                existing["\(position)"] = (try Self.record(row), sameInput)
            }
        }
        // A member whose id came earlier in the same batch meets the execution that earlier member inserted.
        var claimed: Set<String> = []
        var outcomes: [InsertOutcome] = []
        var missingIndex = 0
        for execution in executions {
            let name = execution.workflow + "\u{0}" + execution.id
            if let record = inserted[name], claimed.insert(name).inserted {
                outcomes.append(.inserted(record))
            } else if let record = inserted[name] {
                outcomes.append(.existing(record, sameInput: record.input == execution.input
                                          || (try? jsonEqual(record.input, execution.input)) == true))
            } else {
                missingIndex += 1
                guard let (record, sameInput) = existing["\(missingIndex)"] else {
                    throw WorkflowError(.notAllowed, "execution '\(execution.id)' of \(execution.workflow) "
                                        + "vanished while starting")
                }
                outcomes.append(.existing(record, sameInput: sameInput))
            }
        }
        return outcomes
    }

    /// Whether two JSON texts hold the same value.
    private func jsonEqual(_ first: String, _ second: String) throws -> Bool {
        let left = try JSONSerialization.jsonObject(with: Data(first.utf8), options: .fragmentsAllowed)
        let right = try JSONSerialization.jsonObject(with: Data(second.utf8), options: .fragmentsAllowed)
        return (left as? NSObject)?.isEqual(right) ?? false
    }
}
