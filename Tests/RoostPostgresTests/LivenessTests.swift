import Foundation
import PostgresNIO
import Roost
import RoostPostgres
import RoostTesting
import Testing

@Suite("Liveness apart from work")
struct LivenessTests {
    @Test("heartbeats renew the leases while every connection of the pool is taken by work", .timeLimit(.minutes(2)))
    func heartbeatsDoNotQueueBehindWork() async throws {
        try await withTestStorage(configure: { $0.maximumConnections = 2; $0.notifications = false }) { storage in
            var configuration = ShardManager.Configuration(address: "127.0.0.1:7001")
            configuration.leaseTTL = .seconds(3)
            configuration.rebalanceInterval = .milliseconds(100)
            configuration.settings = ClusterSettings(shardsPerGroup: 4)
            let manager = ShardManager(store: storage.cluster, configuration: configuration, host: nil,
                                       logger: TestDatabase.logger)
            try await TestDatabase.withSecondStorage(of: storage) { observer in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await manager.run() }
                    defer { group.cancelAll() }
                    try await awaitHeartbeats(1, on: observer)
                    // Work takes every connection of the pool and keeps it.
                    let id = "pool-taken-\(UUID())"
                    for holder in 0..<2 {
                        group.addTask {
                            try await storage.client.withConnection { connection in
                                _ = try await connection.query("SELECT 1", logger: TestDatabase.logger)
                                Checkpoints.reach("\(id)/\(holder)")
                                await Checkpoints.reached("\(id)/release")
                            }
                        }
                        await Checkpoints.reached("\(id)/\(holder)")
                    }
                    // More than a lease TTL's worth of heartbeats (one every 100 ms).
                    try await awaitHeartbeats(40, on: observer)
                    let renewed = await manager.leasesRenewed
                    let held = await manager.leases.count
                    Checkpoints.reach("\(id)/release")
                    #expect(renewed)
                    #expect(held == 4, "the runner detached from its shards")
                }
            }
        }
    }

    /// Waits until the runner row's heartbeat has advanced `count` times, as another process sees it.
    private func awaitHeartbeats(_ count: Int, on storage: PostgresStorage) async throws {
        var last: Date?
        var seen = 0
        let deadline = ContinuousClock.now + .seconds(60)
        while seen < count {
            guard ContinuousClock.now < deadline else {
                Issue.record("the runner's heartbeat advanced \(seen) times, not \(count)")
                return
            }
            let rows = try await storage.client.query("SELECT max(heartbeat_at) FROM runners").collect()
            if let beat = try rows.first?.decode(Date?.self), beat != last {
                if last != nil { seen += 1 }
                last = beat
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
