import Foundation
import Logging
import PostgresNIO
import Roost

extension PostgresWorkflowStore {
    /// Upserts journal rows from the JSON array bound by ``PostgresQuery/bindingEntries(_:)``, for the executions
    /// the statement's `guard` CTE returned. A completed entry is never overwritten.
    var journalUpsert: String {
        """
        INSERT INTO \(schema).journal AS j (execution, position, kind, name, state, attempts, result, error, due_at)
        SELECT guard.key, e.position, e.kind, e.name, e.state, e.attempts, e.result::jsonb, e.error, e.due_at
        FROM guard, jsonb_to_recordset($entries::jsonb) AS e(
            position int, kind text, name text, state text, attempts int, result text, error jsonb,
            due_at timestamptz)
        ON CONFLICT (execution, position) DO UPDATE
        SET state = excluded.state, attempts = excluded.attempts, result = excluded.result,
            error = excluded.error, updated_at = now(),
            due_at = CASE WHEN j.kind IN ('sleep', 'deferred') THEN j.due_at ELSE excluded.due_at END
        WHERE j.state NOT IN ('completed', 'failed')
        RETURNING 1
        """
    }

    /// Writes journal entries, and the status if given, in one statement, if the execution is running or
    /// waiting. Without a status change the guard only share-locks the execution's row: a concurrent cancel waits
    /// for this write's commit, and a committed cancel makes the guard match nothing.
    func guardedWrite(key: ExecutionKey, entries: [JournalEntry], status: ExecutionStatus?,
                      on connection: PostgresConnection) async throws {
        let guardClause: PostgresQuery = if let status {
            """
            UPDATE \(unescaped: schema).executions SET status = \(status.rawValue), updated_at = now()
            WHERE key = \(key) AND status IN ('running', 'waiting')
            RETURNING key
            """
        } else {
            """
            SELECT key FROM \(unescaped: schema).executions
            WHERE key = \(key) AND status IN ('running', 'waiting') FOR SHARE
            """
        }
        var query: PostgresQuery = """
            WITH guard AS (
                \(unescaped: guardClause.sql)
            ), written AS (
                \(unescaped: journalUpsert)
            )
            SELECT (SELECT count(*) FROM guard), (SELECT count(*) FROM written), 0::bigint
            """
        query.binds = guardClause.binds
        let rows = try await connection.query(query.bindingEntries(try Self.json(entries)), logger: logger)
        try await expectGuard(rows, key: key)
    }

    /// Throws ``ExecutionNotWritable`` with the current status if the statement's guard matched no row.
    func expectGuard(_ rows: PostgresRowSequence, key: ExecutionKey) async throws {
        var guarded = 0
        for try await (count, _, _) in rows.decode((Int, Int, Int).self) { guarded = count }
        guard guarded == 0 else { return }
        throw ExecutionNotWritable(status: try await execution(key: key)?.status)
    }

    func journal(key: ExecutionKey, on connection: PostgresConnection?) async throws -> [JournalEntry] {
        let query: PostgresQuery = """
            SELECT position, kind, name, state, attempts, result::text, error::text, due_at
            FROM \(unescaped: schema).journal WHERE execution = \(key) ORDER BY position
            """
        let rows = if let connection {
            try await connection.query(query, logger: logger)
        } else {
            try await client.query(query, logger: logger)
        }
        var entries: [JournalEntry] = []
        for try await (position, kind, name, state, attempts, result, error, dueAt)
            in rows.decode((Int, String, String, String, Int, String?, String?, Date?).self) {
            entries.append(JournalEntry(position: position, kind: .init(kind), name: name, state: .init(state),
                                        attempts: attempts, result: result, error: try error.map(Self.failure),
                                        dueAt: dueAt))
        }
        return entries
    }

    func records(_ query: PostgresQuery, on connection: PostgresConnection? = nil) async throws -> [ExecutionRecord] {
        let rows = if let connection {
            try await connection.query(query, logger: logger)
        } else {
            try await client.query(query, logger: logger)
        }
        var records: [ExecutionRecord] = []
        for try await row in rows { records.append(try Self.record(row)) }
        return records
    }

    func collect<Value: PostgresDecodable & Sendable>(_ query: PostgresQuery, as type: Value.Type) async throws -> [Value] {
        var values: [Value] = []
        for try await value in try await client.query(query, logger: logger).decode(Value.self) {
            values.append(value)
        }
        return values
    }

    static func record(_ row: PostgresRow) throws -> ExecutionRecord {
        let (key, workflow, id, status, input, output, error, attempt, created, updated, finished) = try row.decode(
            (ExecutionKey, String, String, String, String, String?, String?, Int, Date, Date, Date?).self)
        guard let status = ExecutionStatus(status) else {
            throw WorkflowError(.invalidPayload, "execution '\(id)' has an unknown status '\(status)'")
        }
        return ExecutionRecord(key: key, workflow: workflow, id: id, status: status, input: input, output: output,
                               error: try error.map(failure), attempt: attempt, createdAt: created,
                               updatedAt: updated, finishedAt: finished)
    }

    static func failure(_ json: String) throws -> FailureInfo {
        try JSONDecoder().decode(FailureInfo.self, from: Data(json.utf8))
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.format(date))
        }
        return encoder
    }()

    static func json(_ value: some Encodable) throws -> String {
        String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Turns PostgreSQL's refusals of a JSON payload (`\u0000`, malformed text) into `invalid_payload`.
    func payloadErrors<Result>(_ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch let error as PSQLError {
            if let state = error.serverInfo?[.sqlState], ["22P02", "22P05", "22025", "54000"].contains(state) {
                let message = error.serverInfo?[.message] ?? "invalid JSON"
                throw WorkflowError(.invalidPayload, "the database refused the JSON payload: \(message)", cause: error)
            }
            throw error
        }
    }
}

extension PostgresQuery {
    /// Binds the journal entries' JSON to the `$entries` placeholder of ``PostgresWorkflowStore/journalUpsert``.
    func bindingEntries(_ json: String) -> PostgresQuery {
        var query = self
        let placeholder = "$\(query.binds.count + 1)"
        query.sql = query.sql.replacingOccurrences(of: "$entries", with: placeholder)
        query.binds.append(json, context: .default)
        return query
    }
}
