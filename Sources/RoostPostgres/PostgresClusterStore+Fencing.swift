import PostgresNIO
import Roost

extension PostgresClusterStore {
    /// Runs `body` in a transaction that commits only while this runner holds `lease`: the transaction first
    /// share-locks the lease row where it still has that epoch and a live owner (the schema's `hold_lease`
    /// function), so no other runner acquires the shard until this transaction ends, and a lost lease commits
    /// nothing. The transaction may stay idle for at most the owner's lease TTL: the server then ends it.
    /// - Throws: ``ShardLeaseLost`` if the lease is no longer held; what `body` throws (the transaction is
    ///   rolled back).
    @discardableResult
    public func withFencedTransaction<Result: Sendable>(
        _ lease: ShardLease, _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await client.withConnection { connection in
            try await connection.inTransaction(logger: logger) {
                let held = try await connection.guardedRows("""
                    SELECT \(unescaped: schema).hold_lease(\(lease.shard.group), \(lease.shard.index), \(lease.epoch))
                    """, logger: logger).first?.decode(Bool.self) ?? false
                guard held else { throw ShardLeaseLost(lease: lease) }
                return try await body(connection)
            }
        }
    }
}
