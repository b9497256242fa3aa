import Synchronization

/// Where executions live in a cluster: each belongs to the shard `StableHash(id) mod shardsPerGroup` of the default
/// shard group, whose owner runs it (the hidden entity `Workflow/<Name>` with the execution id as its entity id).
///
/// A runner knows the cluster's settings; a client reads them from the store once a runner has stored them, and
/// until then stores executions without a shard for the runners to place.
public final class ExecutionPlacement: Sendable {
    private let settings: Mutex<ClusterSettings?>
    private let read: (@Sendable () async throws -> ClusterSettings?)?

    /// Placement with known settings.
    public init(settings: ClusterSettings) {
        self.settings = Mutex(settings)
        read = nil
    }

    /// Placement with the settings `read` returns, asked again until it returns some.
    public init(reading read: @escaping @Sendable () async throws -> ClusterSettings?) {
        settings = Mutex(nil)
        self.read = read
    }

    /// The shard of an execution id, or `nil` while the cluster's settings are unknown.
    public func shard(of id: String) async throws -> Int? {
        if let known = settings.withLock({ $0 }) { return known.shard(for: id).index }
        guard let found = try await read?() else { return nil }
        settings.withLock { $0 = found }
        return found.shard(for: id).index
    }

    /// The settings, once known.
    var knownSettings: ClusterSettings? {
        settings.withLock { $0 }
    }

    /// The shard of an execution id with the settings known now.
    func knownShard(of id: String) -> Int? {
        knownSettings?.shard(for: id).index
    }
}
