import PostgresNIO
import RoostPostgres

/// Server-side counters the benchmark reads: write transactions, all transactions, statements.
struct DatabaseCounters {
    /// The next transaction id: grows by one per write transaction.
    var nextTransactionId: Int64
    /// Committed and rolled-back transactions of the database.
    var transactions: Int64
    /// Statements executed, from `pg_stat_statements`, excluding the benchmark's own counter queries; `nil` if
    /// the extension is not loaded.
    var statements: Int64?

    /// Reads the counters. `pg_stat_database` is refreshed at most every 500 ms, so callers read after a pause.
    static func read(_ storage: PostgresStorage) async throws -> DatabaseCounters {
        var counters = DatabaseCounters(nextTransactionId: 0, transactions: 0, statements: nil)
        for try await (next, transactions) in try await storage.client.query("""
            SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint,
                   (SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database())
            """).decode((Int64, Int64).self) {
            counters.nextTransactionId = next
            counters.transactions = transactions
        }
        counters.statements = try? await statementCount(storage)
        return counters
    }

    private static func statementCount(_ storage: PostgresStorage) async throws -> Int64 {
        var schema: String?
        for try await name in try await storage.client.query("""
            SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
            WHERE e.extname = 'pg_stat_statements'
            """).decode(String.self) {
            schema = name
        }
        guard let schema else { throw CountersUnavailable() }
        var total: Int64 = 0
        for try await calls in try await storage.client.query("""
            SELECT coalesce(sum(calls), 0)::bigint FROM \(unescaped: "\"\(schema)\"").pg_stat_statements
            WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND query NOT LIKE '%pg_stat%' AND query NOT LIKE '%pg_snapshot%'
            """).decode(Int64.self) {
            total = calls
        }
        return total
    }
}

/// `pg_stat_statements` is not installed in the database.
struct CountersUnavailable: Error {}
