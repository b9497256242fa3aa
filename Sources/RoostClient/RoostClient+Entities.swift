import Roost
import RoostPostgres

extension RoostClient {
    /// Runs `body` with a cluster system that calls entities on the runners: every call goes straight to the
    /// runner that holds the entity's shard, found from the live runners registered in the database. Calls made
    /// inside ``withDelivery(_:isolation:_:)`` with ``Delivery/persisted`` are saved in the database first.
    ///
    /// ```swift
    /// let value = try await client.withEntities { system in
    ///     try await system.entity(Counter.self, id: "visits").increment(by: 1)
    /// }
    /// ```
    /// - Throws: ``WorkflowError`` `not_allowed` if no runner has joined the cluster yet; what `body` throws.
    public func withEntities<Result: Sendable>(
        configuration: ClusterSystem.Configuration = ClusterSystem.Configuration(),
        _ body: @Sendable (ClusterSystem) async throws -> Result
    ) async throws -> Result {
        guard let settings = try await storage.cluster.status().settings else {
            throw WorkflowError(.notAllowed, "no runner has joined the cluster in schema "
                                + "\(storage.configuration.schema) yet")
        }
        let system = ClusterSystem(clientOf: storage.cluster, settings: settings, configuration: configuration,
                                   messages: storage.messages, logger: storage.logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await system.run() }
            defer { system.shutdown() }
            return try await body(system)
        }
    }
}
