import PostgresNIO
import Roost
import RoostPostgres

extension Examples {
    /// The example singleton, `example-singleton`: records where and when it runs in `example_singleton_runs`
    /// (a row per placement, `stopped_at` set when it hands over gracefully), and otherwise waits to be stopped.
    /// Both writes are fenced by its shard's lease, so a runner that lost the shard records nothing.
    public static func singleton(storage: PostgresStorage) -> Singleton {
        Singleton("example-singleton", stopTimeout: .seconds(5)) { context in
            let runner = context.runner
            let logger = storage.logger
            let run = try await storage.cluster.withFencedTransaction(context.lease) { connection in
                try await connection.query("""
                    INSERT INTO example_singleton_runs (runner) VALUES (\(runner)) RETURNING id
                    """, logger: logger).collect().first?.decode(Int64.self) ?? 0
            }
            do {
                while true { try await Task.sleep(for: .seconds(3_600)) }
            } catch is CancellationError {
                // The stop signal is the task's cancellation, which would refuse the write too: it runs in a task
                // of its own, still fenced, before the shard is released.
                let lease = context.lease
                try await Task {
                    try await storage.cluster.withFencedTransaction(lease) { connection in
                        _ = try await connection.query("""
                            UPDATE example_singleton_runs SET stopped_at = now() WHERE id = \(run)
                            """, logger: logger)
                    }
                }.value
            }
        }
    }
}
