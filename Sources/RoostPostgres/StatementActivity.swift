import PostgresNIO
import Roost

extension WorkflowContext {
    /// Runs an activity that is one SQL statement — an `INSERT`, `UPDATE` or `DELETE`, optionally with its own
    /// `WITH` — together with its journal entry in a single statement: one round trip to PostgreSQL, where an
    /// activity with a body takes four (`BEGIN`, the body's SQL, the journal entry, `COMMIT`).
    ///
    /// The guarantees are those of ``activity(_:retry:_:)-swift.method``: the statement commits with the journal
    /// entry or not at all, it is fenced by the execution's shard lease, a failing statement is retried by `retry`,
    /// and on replay it does not run again. Table names resolve in the configured schema. Its journal entry records
    /// no duration: the entry is written inside the statement it would time.
    ///
    /// ```swift
    /// try await context.activity("reserve", statement: """
    ///     INSERT INTO stock_holds (order_id, sku) VALUES (\(input.orderId), \(input.sku))
    ///     """)
    /// ```
    /// - Parameters:
    ///   - name: The activity's name.
    ///   - retry: How often to retry when the statement fails. Defaults to ``RetryPolicy/default``.
    ///   - statement: The statement, with interpolated values bound as parameters.
    /// - Throws: ``WorkflowError`` `invalid_argument` if the statement is not an `INSERT`, `UPDATE`, `DELETE` or
    ///   `WITH`; ``ActivityFailure`` once the last attempt failed; a ``WorkflowError`` `cancelled` if the execution
    ///   was cancelled.
    public func activity(_ name: String, retry: RetryPolicy = .default, statement: PostgresQuery) async throws {
        try StatementActivity.check(statement, activity: name)
        try await statementActivity(name, retry: retry, statement: statement)
    }
}

/// How a statement activity's SQL is checked and wrapped with its journal write.
enum StatementActivity {
    private static let leadingKeywords: Set<String> = ["INSERT", "UPDATE", "DELETE", "WITH"]

    /// Refuses a statement that cannot run as a data-modifying `WITH` query: only those always run to completion
    /// inside the statement that writes the journal.
    static func check(_ statement: PostgresQuery, activity: String) throws {
        let keyword = statement.sql.drop { $0.isWhitespace || $0 == "(" }.prefix { $0.isLetter }.uppercased()
        guard leadingKeywords.contains(keyword) else {
            let found = keyword.isEmpty ? String(statement.sql.prefix(20)) : keyword
            throw WorkflowError(.invalidArgument, "activity '\(activity)': a statement activity runs one INSERT, "
                                + "UPDATE or DELETE (optionally with WITH), not '\(found)'; use an activity with a "
                                + "body for anything else")
        }
    }

    /// The activity's statement as a `WITH` query of the statement that calls `write_activity`, with the journal
    /// write's values bound after the statement's own.
    static func query(_ statement: PostgresQuery, schema: String, key: ExecutionKey, entries: String,
                      status: ExecutionStatus?, lease: ShardLease?, writer: String) throws -> PostgresQuery {
        var binds = statement.binds
        let first = binds.count + 1
        binds.append(key)
        binds.append(entries)
        binds.append(status?.rawValue)
        binds.append(lease?.shard.group)
        binds.append(lease?.epoch)
        binds.append(writer)
        var sql = Substring(statement.sql)
        while let last = sql.last, last.isWhitespace || last == ";" { sql.removeLast() }
        let parameters = (first..<first + 6).map { "$\($0)" }
        return PostgresQuery(unsafeSQL: """
            WITH activity AS (\(sql)
            ) SELECT \(schema).write_activity(\(parameters[0])::bigint, \(parameters[1])::text, \
            \(parameters[2])::text, \(parameters[3])::text, \(parameters[4])::bigint, \(parameters[5])::text)
            """, binds: binds)
    }
}
