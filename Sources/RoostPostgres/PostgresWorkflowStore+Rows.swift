import Foundation
import Logging
import PostgresNIO
import Roost

extension PostgresWorkflowStore {
    /// Writes journal entries, and the status if given, in one statement, if the execution is running or
    /// waiting (see ``Statements/WriteJournal``). Entries that begin a wait (a sleep, a deferred wait, an activity's
    /// back-off) leave the execution waiting with that wait's due time on its row, whatever status was given.
    func guardedWrite(key: ExecutionKey, entries: [JournalEntry], status: ExecutionStatus?, lease: ShardLease?,
                      on connection: PostgresConnection) async throws {
        let wait = entries.last { $0.state == .waiting || $0.state == .retrying }
        let statement = Statements.WriteJournal(key: key, entries: Self.journalJSON(entries),
                                                status: wait == nil ? status?.rawValue : ExecutionStatus.waiting.rawValue,
                                                due: wait?.dueAt, lease: lease, writer: writer)
        let logger = logger
        do {
            try await StatementGuard.shared.run(on: connection) {
                for try await _ in try await connection.execute(statement, logger: logger) {}
            }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == Statements.notWritableState {
            throw try await notWritable(key: key)
        }
    }

    /// ``ExecutionNotWritable`` with the execution's current status, for a write its guard refused.
    func notWritable(key: ExecutionKey) async throws -> ExecutionNotWritable {
        ExecutionNotWritable(status: try await execution(key: key)?.status)
    }

    /// The first row a prepared statement returns.
    func first<Statement: PostgresPreparedStatement>(_ statement: Statement) async throws -> Statement.Row?
    where Statement.Row: Sendable {
        try await onConnection { connection, logger in
            for try await row in try await connection.execute(statement, logger: logger) { return row }
            return nil
        }
    }

    /// Runs `body` on a connection of the pool, failing if the connection closes under it (``StatementGuard``).
    func onConnection<Result: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> Result
    ) async throws -> Result {
        let logger = logger
        return try await client.withConnection { connection in
            try await StatementGuard.shared.run(on: connection) { try await body(connection, logger) }
        }
    }

    func journal(key: ExecutionKey, on connection: PostgresConnection?) async throws -> [JournalEntry] {
        try await journalRecords(key: key, on: connection).map(\.entry)
    }

    /// The journal with when each entry was first and last written.
    func journalRecords(key: ExecutionKey, on connection: PostgresConnection?) async throws -> [JournalRecord] {
        let query: PostgresQuery = """
            SELECT position, kind, name, state, attempts, result::text, error::text, due_at, duration_ms,
                   created_at, updated_at
            FROM \(unescaped: schema).journal WHERE execution = \(key) ORDER BY position
            """
        var records: [JournalRecord] = []
        for row in try await rows(query, on: connection) {
            let (position, kind, name, state, attempts, result, error, dueAt, duration, recorded, updated)
                = try row.decode((Int, String, String, String, Int, String?, String?, Date?, Double?, Date, Date).self)
            let entry = JournalEntry(position: position, kind: .init(kind), name: name, state: .init(state),
                                     attempts: attempts, result: result, error: try error.map(Self.failure),
                                     dueAt: dueAt, durationMs: duration)
            records.append(JournalRecord(entry: entry, recordedAt: recorded, updatedAt: updated))
        }
        return records
    }

    /// Every row of a query, on a leased connection or on any connection of the pool.
    func rows(_ query: PostgresQuery, on connection: PostgresConnection?) async throws -> [PostgresRow] {
        guard let connection else { return try await client.guardedRows(query, logger: logger) }
        return try await connection.guardedRows(query, logger: logger)
    }

    func records(_ query: PostgresQuery, on connection: PostgresConnection? = nil) async throws -> [ExecutionRecord] {
        try await rows(query, on: connection).map(Self.record)
    }

    func collect<Value: PostgresDecodable & Sendable>(_ query: PostgresQuery, as type: Value.Type) async throws -> [Value] {
        try await rows(query, on: nil).map { try $0.decode(Value.self) }
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

    /// A failure as JSON for the `error` columns.
    static func json(_ failure: FailureInfo) throws -> String {
        String(decoding: try JSONEncoder().encode(failure), as: UTF8.self)
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

extension PostgresWorkflowStore {
    /// Journal entries as the JSON array `jsonb_to_recordset` reads, written by hand: this runs for every durable
    /// call, and `JSONEncoder` costs several times as much.
    static func journalJSON(_ entries: [JournalEntry]) -> String {
        var json = "["
        for (index, entry) in entries.enumerated() {
            if index > 0 { json += "," }
            json += "{\"position\":\(entry.position),\"kind\":"
            appendString(entry.kind.rawValue, to: &json)
            json += ",\"name\":"
            appendString(entry.name, to: &json)
            json += ",\"state\":"
            appendString(entry.state.rawValue, to: &json)
            json += ",\"attempts\":\(entry.attempts),\"result\":"
            if let result = entry.result { appendString(result, to: &json) } else { json += "null" }
            json += ",\"error\":"
            if let error = entry.error {
                json += "{\"code\":"
                appendString(error.code, to: &json)
                json += ",\"message\":"
                appendString(error.message, to: &json)
                json += "}"
            } else {
                json += "null"
            }
            json += ",\"due_at\":"
            if let due = entry.dueAt { appendString(Timestamp.format(due), to: &json) } else { json += "null" }
            json += ",\"duration_ms\":"
            json += entry.durationMs.map { "\($0)" } ?? "null"
            json += "}"
        }
        return json + "]"
    }

    /// Appends a JSON string literal.
    static func appendString(_ text: String, to json: inout String) {
        json += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": json += "\\\""
            case "\\": json += "\\\\"
            case "\n": json += "\\n"
            case "\r": json += "\\r"
            case "\t": json += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                json += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: json.unicodeScalars.append(scalar)
            }
        }
        json += "\""
    }
}
