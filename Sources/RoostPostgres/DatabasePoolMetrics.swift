import Logging
import Metrics
import PostgresNIO
import ServiceLifecycle

/// Reports how the storage's connection pool is used, as PostgreSQL sees it: every `interval`, this process's
/// connections by state from `pg_stat_activity` (`active`: running a statement, `idle_in_transaction`, `idle`),
/// and the pool's size. Gauges `roost_database_connections{state}` and `roost_database_pool_size`; the sampling
/// query does not count itself.
public struct DatabasePoolMetrics: Service {
    /// The states reported, each every time (0 when no connection is in it).
    static let states = ["active", "idle", "idle_in_transaction"]

    private let storage: PostgresStorage
    private let interval: Duration

    /// Samples `storage`'s connections every `interval`.
    public init(storage: PostgresStorage, interval: Duration = .seconds(5)) {
        self.storage = storage
        self.interval = interval
    }

    /// Samples until cancelled or shut down gracefully.
    public func run() async {
        Gauge(label: "roost_database_pool_size").record(storage.configuration.maximumConnections)
        await cancelWhenGracefulShutdown {
            var first = true
            while !Task.isCancelled {
                do {
                    let counts = try await sample()
                    for state in Self.states {
                        Gauge(label: "roost_database_connections", dimensions: [("state", state)])
                            .record(counts[state, default: 0])
                    }
                    if first {
                        storage.logger.debug("database pool sampled", metadata: ["roost.connections": "\(counts)"])
                        first = false
                    }
                } catch {
                    storage.logger.debug("could not sample the database pool", metadata: ["roost.error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// This process's connections by state, not counting the one asking.
    func sample() async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        let prefix = storage.presence.name
        // Guarded: a statement sent on a connection the server just closed would otherwise wait for ever, and
        // keep this service from ending.
        for row in try await storage.client.guardedRows("""
            SELECT replace(state, ' ', '_'), count(*)::int FROM pg_stat_activity
            WHERE (application_name = \(prefix) OR application_name = \(storage.presence.poolName))
              AND pid <> pg_backend_pid() AND state IS NOT NULL
            GROUP BY 1
            """, logger: storage.logger) {
            let (state, count) = try row.decode((String, Int).self)
            counts[state] = count
        }
        return counts
    }
}
