import Foundation
import Roost
import RoostPostgres
import RoostTesting

/// One runner's view of a cluster on the test schema, driven by hand instead of by a ``ShardManager``: its settings
/// are stored, its incarnation registered, and the test moves its leases in the database and tells its engine.
struct HandDrivenRunner {
    static let settings = ClusterSettings(shardsPerGroup: 4)
    let storage: PostgresStorage
    let incarnation = UUID()

    init(storage: PostgresStorage, address: String = "127.0.0.1:7001") async throws {
        self.storage = storage
        _ = try await storage.cluster.settings(proposing: Self.settings)
        _ = try await storage.cluster.register(address: address, incarnation: incarnation, leaseTTL: .seconds(600))
    }

    /// Acquires shards in the database (each at its next epoch).
    func acquire(_ shards: [ShardID]) async throws -> [ShardLease] {
        try await storage.cluster.acquire(shards, incarnation: incarnation)
    }

    /// Releases shards in the database.
    func release(_ shards: [ShardID]) async throws {
        try await storage.cluster.release(shards, incarnation: incarnation)
    }

    /// An engine that runs the executions of the shards it is told it holds.
    func engine(_ configuration: WorkflowEngine.Configuration) -> WorkflowEngine {
        var registry = testRegistry()
        registry.register(HoldInActivity())
        return WorkflowEngine(store: storage.store, registry: registry, configuration: configuration,
                              placement: ExecutionPlacement(settings: Self.settings), logger: TestDatabase.logger)
    }
}
