import Foundation
import Logging
import PostgresNIO

extension PostgresConnection {
    /// Every row of a query on this connection, failing if the connection closes under it (``StatementGuard``).
    func guardedRows(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRow] {
        try await StatementGuard.shared.run(on: self) {
            var rows: [PostgresRow] = []
            for try await row in try await self.query(query, logger: logger) { rows.append(row) }
            return rows
        }
    }
}

extension PostgresClient {
    /// Every row of a query on a connection of the pool, failing if the connection closes under it.
    func guardedRows(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRow] {
        try await withConnection { try await $0.guardedRows(query, logger: logger) }
    }
}

extension PostgresClient {
    /// The database's clock (`now()`), which due times and cron ticks are compared with.
    func databaseNow(logger: Logger) async throws -> Date {
        guard let now = try await guardedRows("SELECT now()", logger: logger).first?.decode(Date.self) else {
            throw StorageError(.connectionClosed, "the database did not say what time it is")
        }
        return now
    }
}
