import Logging
import PostgresNIO
import Roost

extension ActivityTransaction {
    /// The connection of the activity's transaction. Do not commit or roll back on it, and do not keep it beyond the
    /// activity's body.
    public var connection: PostgresConnection {
        guard let connection = handle as? PostgresConnection else {
            preconditionFailure("ActivityTransaction is not backed by PostgreSQL")
        }
        return connection
    }

    /// Runs SQL in the activity's transaction: it commits together with the activity's journal entry.
    /// - Parameter query: The query, with interpolated values bound as parameters.
    /// - Returns: The rows.
    @discardableResult
    public func query(_ query: PostgresQuery, file: String = #fileID, line: Int = #line) async throws
        -> PostgresRowSequence {
        let connection = connection
        return try await StatementGuard.shared.run(on: connection) {
            try await connection.query(query, logger: connection.logger, file: file, line: line)
        }
    }
}
