import PostgresNIO
import Roost
import RoostPostgres

/// The example workflows the demo, the docs and the tests run: `Order`, `Approval`, `Reminder`, `Pipeline` and
/// `Tick`; the example entity `Counter`; the singleton `example-singleton` and the schedule `tick-every-second`.
///
/// Every activity inserts one row `(execution_id, step)` into `example_effects` inside its transaction, so that
/// "each effect exactly once" can be checked with SQL.
public enum Examples {
    /// Registers every example workflow.
    public static func register(into registry: inout WorkflowRegistry) {
        registry.register(Order())
        registry.register(Approval())
        registry.register(Reminder())
        registry.register(Pipeline())
        registry.register(Tick())
    }

    /// A registry holding the example workflows.
    public static var registry: WorkflowRegistry {
        var registry = WorkflowRegistry()
        register(into: &registry)
        return registry
    }

    /// Creates the `example_effects`, `example_counters` and `example_singleton_runs` tables in the storage's schema
    /// if they do not exist.
    public static func prepare(_ storage: PostgresStorage) async throws {
        let schema = "\"\(storage.configuration.schema)\""
        let lockKey = "roost.examples.\(schema)"
        // Runners starting together on a new schema would race on CREATE TABLE IF NOT EXISTS: one at a time.
        try await storage.client.withConnection { connection in
            try await connection.query("BEGIN", logger: storage.logger)
            do {
                try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\(lockKey)))", logger: storage.logger)
                try await connection.query("""
                    CREATE TABLE IF NOT EXISTS \(unescaped: schema).example_effects (
                        execution_id text NOT NULL,
                        step text NOT NULL,
                        recorded_at timestamptz NOT NULL DEFAULT now()
                    )
                    """, logger: storage.logger)
                try await connection.query("""
                    CREATE TABLE IF NOT EXISTS \(unescaped: schema).example_counters (
                        id text PRIMARY KEY,
                        value bigint NOT NULL,
                        updated_at timestamptz NOT NULL DEFAULT now()
                    )
                    """, logger: storage.logger)
                try await connection.query("""
                    CREATE TABLE IF NOT EXISTS \(unescaped: schema).example_singleton_runs (
                        id bigserial PRIMARY KEY,
                        runner text NOT NULL,
                        started_at timestamptz NOT NULL DEFAULT now(),
                        stopped_at timestamptz
                    )
                    """, logger: storage.logger)
                try await connection.query("COMMIT", logger: storage.logger)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: storage.logger)
                throw error
            }
        }
    }

    /// Records an activity's effect in its transaction.
    static func effect(_ transaction: ActivityTransaction, step: String) async throws {
        try await transaction.query("""
            INSERT INTO example_effects (execution_id, step)
            VALUES (\(transaction.context.executionId), \(step))
            """)
    }
}
