import Distributed
import PostgresNIO
import Roost
import RoostPostgres

/// The example entity: a counter whose value lives in table `example_counters`. It caches the value between
/// calls and writes every increment under its shard's lease, so a second live instance or two interleaved calls
/// would lose increments — the cluster tests count on that.
public distributed actor Counter: Entity {
    public typealias ActorSystem = ClusterSystem
    public static let entityType = "Counter"

    private let storage: PostgresStorage
    private var cached: Int?

    /// A counter activated by the cluster system.
    public init(actorSystem: ClusterSystem, storage: PostgresStorage) {
        self.actorSystem = actorSystem
        self.storage = storage
    }

    /// Adds `amount` and returns the new value.
    public distributed func increment(by amount: Int) async throws -> Int {
        let current = try await load()
        let next = current + amount
        let lease = try await actorSystem.lease(of: id)
        let key = id.id
        let logger = storage.logger
        try await storage.cluster.withFencedTransaction(lease) { connection in
            try await connection.query("""
                INSERT INTO example_counters (id, value) VALUES (\(key), \(next))
                ON CONFLICT (id) DO UPDATE SET value = excluded.value, updated_at = now()
                """, logger: logger)
        }
        cached = next
        return next
    }

    /// Adds `amount` to the counter `target` and returns its new value. The call to `target` starts on the runner
    /// that hosts this counter: one entity calling another through the cluster. `target` must be another counter
    /// (this one runs one call at a time, so calling itself would wait for ever).
    public distributed func forward(_ amount: Int, to target: String) async throws -> Int {
        try await actorSystem.entity(Counter.self, id: target).increment(by: amount)
    }

    /// The current value.
    public distributed func value() async throws -> Int {
        try await load()
    }

    private func load() async throws -> Int {
        if let cached { return cached }
        var value = 0
        for try await stored in try await storage.client.query(
            "SELECT value FROM example_counters WHERE id = \(id.id)", logger: storage.logger
        ).decode(Int.self) {
            value = stored
        }
        cached = value
        return value
    }
}

extension Examples {
    /// Registers the example entities with a runner's cluster system.
    public static func register(entitiesOn system: ClusterSystem, storage: PostgresStorage) {
        system.register(Counter.self) { Counter(actorSystem: $0, storage: storage) }
    }
}
