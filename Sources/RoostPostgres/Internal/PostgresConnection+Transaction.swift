import Logging
import PostgresNIO

extension PostgresConnection {
    /// Runs `body` in a transaction on this connection, which goes back to the pool with no transaction open
    /// whatever ends `body`: a thrown error, the task's cancellation, or a failed `COMMIT`.
    ///
    /// postgres-nio neither resets a connection on release nor rolls back under a cancelled task, and a connection
    /// released inside a transaction runs its next users' statements in it: they see success while nothing commits,
    /// and a later `COMMIT` commits what the abandoned body left. So the `ROLLBACK` runs in a task of its own that
    /// the caller's cancellation does not reach, and a connection whose `ROLLBACK` fails is closed (the server then
    /// ends the transaction) rather than handed back.
    /// - Parameters:
    ///   - begin: The statement that opens the transaction. Defaults to `BEGIN`.
    ///   - logger: The logger of the statements.
    ///   - body: The work; its statements run on this connection.
    /// - Returns: The body's result, once committed.
    /// - Throws: What `BEGIN`, `body` or `COMMIT` threw.
    func inTransaction<Result>(begin: PostgresQuery = "BEGIN", logger: Logger,
                               isolation: isolated (any Actor)? = #isolation,
                               _ body: () async throws -> Result) async throws -> Result {
        _ = try await guardedRows(begin, logger: logger)
        do {
            let result = try await body()
            _ = try await guardedRows("COMMIT", logger: logger)
            return result
        } catch {
            await abandonTransaction(logger: logger)
            throw error
        }
    }

    /// Rolls back the open transaction, shielded from the caller's cancellation; closes the connection if that
    /// fails.
    func abandonTransaction(logger: Logger) async {
        guard !isClosed else { return }
        let connection = self
        let rolledBack = await Task {
            (try? await connection.guardedRows("ROLLBACK", logger: logger)) != nil
        }.value
        if !rolledBack { try? await close() }
    }
}
