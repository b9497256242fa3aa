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
    /// no duration: the entry is written inside the statement it would time. Rows the statement returns are
    /// ignored.
    ///
    /// The server parses and plans the statement on every run; an activity that runs often is cheaper as a
    /// prepared statement (``activity(_:retry:prepared:)``).
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
        try StatementActivity.check(statement.sql, activity: name)
        try await statementActivity(name, retry: retry, statement: statement)
    }

    /// Runs an activity that is one prepared SQL statement together with its journal entry in a single
    /// statement, like ``activity(_:retry:statement:)``, but prepared once per database connection: the server
    /// parses and plans it (with the journal write around it) on a connection's first run, not on every run.
    ///
    /// The statement's SQL is an `INSERT`, `UPDATE` or `DELETE`, optionally with its own `WITH`, with its
    /// parameters numbered from `$1`; the journal write's parameters are numbered after the highest one it uses
    /// (or after its ``PostgresPreparedStatement/bindingDataTypes`` if it declares them). Its `decodeRow` is never
    /// called: rows the statement returns are ignored.
    ///
    /// ```swift
    /// struct Reserve: PostgresPreparedStatement {
    ///     static let sql = "INSERT INTO stock_holds (order_id, sku) VALUES ($1, $2)"
    ///     var orderId: String
    ///     var sku: String
    ///     func makeBindings() -> PostgresBindings {
    ///         var bindings = PostgresBindings()
    ///         bindings.append(orderId)
    ///         bindings.append(sku)
    ///         return bindings
    ///     }
    ///     func decodeRow(_ row: PostgresRow) throws {}
    /// }
    /// try await context.activity("reserve", prepared: Reserve(orderId: input.orderId, sku: input.sku))
    /// ```
    /// - Parameters:
    ///   - name: The activity's name.
    ///   - retry: How often to retry when the statement fails. Defaults to ``RetryPolicy/default``.
    ///   - prepared: The statement and its bindings.
    /// - Throws: as ``activity(_:retry:statement:)``.
    public func activity<Statement: PostgresPreparedStatement>(
        _ name: String, retry: RetryPolicy = .default, prepared: Statement
    ) async throws {
        try StatementActivity.check(Statement.sql, activity: name)
        try await statementActivity(name, retry: retry, statement: prepared)
    }
}

/// How a statement activity's SQL is checked and wrapped with its journal write.
enum StatementActivity {
    private static let leadingKeywords: Set<String> = ["INSERT", "UPDATE", "DELETE", "WITH"]

    /// The types of the journal write's parameters, in the order ``JournalWrite/append(to:)`` binds them.
    static let journalTypes: [PostgresDataType] = [.int8, .text, .text, .text, .int8, .text]

    /// Refuses a statement that cannot run as a data-modifying `WITH` query: only those always run to completion
    /// inside the statement that writes the journal.
    static func check(_ sql: String, activity: String) throws {
        let keyword = sql.drop { $0.isWhitespace || $0 == "(" }.prefix { $0.isLetter }.uppercased()
        guard leadingKeywords.contains(keyword) else {
            let found = keyword.isEmpty ? String(sql.prefix(20)) : keyword
            throw WorkflowError(.invalidArgument, "activity '\(activity)': a statement activity runs one INSERT, "
                                + "UPDATE or DELETE (optionally with WITH), not '\(found)'; use an activity with a "
                                + "body for anything else")
        }
    }

    /// The activity's statement as a `WITH` query of the statement that calls `write_activity` (found through the
    /// connection's `search_path`), whose parameters are numbered from `firstParameter`.
    static func wrap(_ sql: String, firstParameter first: Int) -> String {
        var sql = Substring(sql)
        while let last = sql.last, last.isWhitespace || last == ";" { sql.removeLast() }
        let parameters = (first..<first + journalTypes.count).map { "$\($0)" }
        return """
            WITH activity AS (\(sql)
            ) SELECT write_activity(\(parameters[0])::bigint, \(parameters[1])::text, \(parameters[2])::text, \
            \(parameters[3])::text, \(parameters[4])::bigint, \(parameters[5])::text)
            """
    }

    /// The highest parameter number (`$n`) the SQL uses, 0 if none.
    static func highestParameter(in sql: String) -> Int {
        var highest = 0
        forEachParameter(in: sql) { _, number in highest = max(highest, number) }
        return highest
    }

    /// Calls `body` with the range and number of each parameter (`$n`) in the SQL, in order.
    static func forEachParameter(in sql: String, _ body: (Range<String.Index>, Int) -> Void) {
        var rest = sql[...]
        while let dollar = rest.firstIndex(of: "$") {
            rest = rest[rest.index(after: dollar)...]
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            if let number = Int(digits) { body(dollar..<digits.endIndex, number) }
            rest = rest[digits.endIndex...]
        }
    }

    /// An unprepared statement activity's query: the statement's binds, then the journal write's.
    static func query(_ statement: PostgresQuery, journal: JournalWrite) -> PostgresQuery {
        var binds = statement.binds
        let first = binds.count + 1
        journal.append(to: &binds)
        return PostgresQuery(unsafeSQL: wrap(statement.sql, firstParameter: first), binds: binds)
    }
}

/// What `write_activity` writes after a statement activity's statement.
struct JournalWrite: Sendable {
    var key: ExecutionKey
    /// The entries as ``PostgresWorkflowStore/journalJSON(_:)`` writes them.
    var entries: String
    var status: ExecutionStatus?
    var lease: ShardLease?
    var writer: String

    /// Binds the journal write's parameters, typed as ``StatementActivity/journalTypes``.
    func append(to bindings: inout PostgresBindings) {
        bindings.append(key)
        bindings.append(entries)
        bindings.append(status?.rawValue)
        bindings.append(lease?.shard.group)
        bindings.append(lease?.epoch)
        bindings.append(writer)
    }
}

/// A prepared statement activity's statement with its journal write, prepared on each connection under a name
/// derived from the statement's.
struct JournaledStatement<Statement: PostgresPreparedStatement>: PostgresPreparedStatement {
    typealias Row = Void

    static var name: String { "roost.activity." + Statement.name }

    static var sql: String {
        let declared = Statement.bindingDataTypes.count
        let first = (declared > 0 ? declared : StatementActivity.highestParameter(in: Statement.sql)) + 1
        return StatementActivity.wrap(Statement.sql, firstParameter: first)
    }

    static var bindingDataTypes: [PostgresDataType] {
        Statement.bindingDataTypes.isEmpty ? [] : Statement.bindingDataTypes + StatementActivity.journalTypes
    }

    var statement: Statement
    var journal: JournalWrite

    func makeBindings() throws -> PostgresBindings {
        var bindings = try statement.makeBindings()
        journal.append(to: &bindings)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws {}
}
