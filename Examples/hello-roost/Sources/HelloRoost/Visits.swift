import Distributed
import PostgresNIO
import Roost
import RoostPostgres

/// The application's entity: how many times each page was visited, in table `hello_visits`, written under the
/// shard's lease.
public distributed actor Visits: Entity {
    public typealias ActorSystem = ClusterSystem
    public static let entityType = "Visits"

    private let storage: PostgresStorage

    /// A counter of visits activated by the cluster system.
    public init(actorSystem: ClusterSystem, storage: PostgresStorage) {
        self.actorSystem = actorSystem
        self.storage = storage
    }

    /// Counts a visit and returns how many there were.
    public distributed func visit() async throws -> Int {
        let lease = try await actorSystem.lease(of: id)
        let page = id.id
        let logger = storage.logger
        return try await storage.cluster.withFencedTransaction(lease) { connection in
            var count = 0
            for try await value in try await connection.query("""
                INSERT INTO hello_visits (page, count) VALUES (\(page), 1)
                ON CONFLICT (page) DO UPDATE SET count = hello_visits.count + 1 RETURNING count
                """, logger: logger).decode(Int.self) {
                count = value
            }
            return count
        }
    }
}
