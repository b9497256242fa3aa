import PostgresNIO

extension PostgresConnection {
    /// Throws if the connection has closed.
    ///
    /// postgres-nio 1.33.2 drops a query written to a connection whose channel has already closed, and its caller
    /// then waits for ever. That happens to the next statement of a transaction when PostgreSQL restarts under
    /// it. Checking first turns that into a storage failure the engine recovers from by replay.
    func ensureOpen() throws {
        guard isClosed else { return }
        throw StorageError(.connectionClosed, "the database connection closed (the server may be restarting)")
    }
}
