import ArgumentParser
import Foundation
import PostgresNIO
import Roost
import RoostPostgres

/// `roost bench database`: the round-trip floor under the engine — sequential `SELECT 1` and single-row
/// insert commits through the same connection pool the engine uses.
struct DatabaseBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "database", abstract: "Round-trip and commit latency of the configured PostgreSQL from Swift.")
    @OptionGroup var database: DatabaseOptions
    @Option(help: "Statements per measurement.") var count = 2_000

    func run() async throws {
        try await reportingErrors {
            var configuration = try database.storageConfiguration()
            configuration.schema = "roost_bench_database"
            try await withPostgresStorage(configuration, logger: Settings.quietLogger, migrate: false) { storage in
                let client = storage.client
                try await client.query("CREATE SCHEMA IF NOT EXISTS roost_bench_database")
                try await client.query("""
                    CREATE TABLE IF NOT EXISTS roost_bench_database.rows (id bigserial PRIMARY KEY, v int)
                    """)
                let select = try await measure { try await client.query("SELECT 1") }
                let insert = try await measure {
                    try await client.query("INSERT INTO roost_bench_database.rows (v) VALUES (\(1))")
                }
                let leased = try await client.withConnection { connection in
                    try await measure { try await connection.query("SELECT 1", logger: Settings.quietLogger) }
                }
                try await client.query("DROP SCHEMA roost_bench_database CASCADE")
                Output.printJSON(["selectMs": select, "insertCommitMs": insert, "selectOnLeasedConnectionMs": leased])
            }
        }
    }

    private func measure(_ body: () async throws -> Void) async throws -> Double {
        let start = ContinuousClock.now
        for _ in 0..<count { try await body() }
        return ((ContinuousClock.now - start).seconds * 1000 / Double(count) * 1000).rounded() / 1000
    }
}
