import Foundation
import Logging
import PostgresNIO
import Roost
import RoostPostgres
import RoostTesting
import Testing

@Suite("Cluster store")
struct ClusterStoreTests {
    let shards = (0..<4).map { ShardID(group: "default", index: $0) }

    /// Stores the default settings and registers runners a (port 7001) and b (port 7002) for a minute.
    private func registerTwo(_ cluster: PostgresClusterStore) async throws -> (UUID, UUID) {
        _ = try await cluster.settings(proposing: ClusterSettings())
        let a = UUID(), b = UUID()
        _ = try await cluster.register(address: "127.0.0.1:7001", incarnation: a, leaseTTL: .seconds(60))
        _ = try await cluster.register(address: "127.0.0.1:7002", incarnation: b, leaseTTL: .seconds(60))
        return (a, b)
    }

    @Test("the first runner stores the settings; a runner with others is refused, naming the setting and both values")
    func settingsAreStored() async throws {
        try await TestDatabase.withStorage { (storage: PostgresStorage) async throws in
            let cluster = storage.cluster
            #expect(try await cluster.settings(proposing: ClusterSettings()) == ClusterSettings())
            #expect(try await cluster.settings(proposing: ClusterSettings(shardsPerGroup: 100)) == ClusterSettings())
            #expect(try await storage.count("SELECT count(*)::int FROM shard_leases") == 300)

            var configuration = ShardManager.Configuration(address: "127.0.0.1:7001")
            configuration.settings.shardGroups = ["default", "workflows"]
            let manager = ShardManager(store: cluster, configuration: configuration, host: nil,
                                       logger: TestDatabase.logger)
            let error = await #expect(throws: ClusterSettingsMismatch.self) { try await manager.join() }
            #expect(error?.description.contains("shard_groups differs: this runner has default,workflows, "
                                                + "the cluster uses default") == true)
            #expect(try await storage.count("SELECT count(*)::int FROM runners") == 0)
        }
    }

    @Test("a live runner's shards cannot be taken; each acquisition increments the epoch")
    func leasesAreExclusive() async throws {
        try await TestDatabase.withStorage { (storage: PostgresStorage) async throws in
            let cluster = storage.cluster
            let (a, b) = try await registerTwo(cluster)

            let first = try await cluster.acquire(shards, incarnation: a)
            #expect(first.map(\.epoch) == [1, 1, 1, 1])
            #expect(try await cluster.acquire(shards, incarnation: b).isEmpty)

            try await cluster.release(Array(shards.prefix(2)), incarnation: a)
            let moved = try await cluster.acquire(shards, incarnation: b)
            #expect(Set(moved) == Set(shards.prefix(2).map { ShardLease(shard: $0, epoch: 2) }))

            guard case .alive(let view) = try await cluster.heartbeat(incarnation: a, leaseTTL: .seconds(60)) else {
                Issue.record("runner a is live")
                return
            }
            #expect(Set(view.held) == Set(shards.suffix(2).map { ShardLease(shard: $0, epoch: 1) }))
            #expect(Set(view.liveRunners) == ["127.0.0.1:7001", "127.0.0.1:7002"])
        }
    }

    @Test("when a runner's registration expires by the database clock, another takes its shards at a new epoch")
    func expiredLeasesMove() async throws {
        try await TestDatabase.withStorage { (storage: PostgresStorage) async throws in
            let cluster = storage.cluster
            let (a, b) = try await registerTwo(cluster)
            #expect(try await cluster.acquire(shards, incarnation: a).count == 4)
            // Runner a's last heartbeat promises 1 ms more: then it misses its next one.
            _ = try await cluster.heartbeat(incarnation: a, leaseTTL: .milliseconds(1))

            // Await the instant the database's clock passes runner a's expiry, then acquire.
            try await storage.client.query("""
                SELECT pg_sleep(greatest(0, extract(epoch FROM expires_at - clock_timestamp())) + 0.001)
                FROM runners WHERE incarnation = \(a)
                """)
            let moved = try await cluster.acquire(shards, incarnation: b)
            #expect(moved.map(\.epoch) == [2, 2, 2, 2])
            #expect(try await cluster.heartbeat(incarnation: a, leaseTTL: .seconds(60)) == .expired)
            // An expired runner acquires nothing until it registers again.
            #expect(try await cluster.acquire(shards, incarnation: a).isEmpty)
        }
    }

    @Test("a new incarnation at the same address replaces the old one at once; the old one learns it was replaced")
    func sameAddressReplaces() async throws {
        try await TestDatabase.withStorage { (storage: PostgresStorage) async throws in
            let cluster = storage.cluster
            _ = try await cluster.settings(proposing: ClusterSettings())
            let old = UUID(), new = UUID()
            _ = try await cluster.register(address: "127.0.0.1:7001", incarnation: old, leaseTTL: .seconds(60))
            #expect(try await cluster.acquire(shards, incarnation: old).count == 4)
            _ = try await cluster.register(address: "127.0.0.1:7001", incarnation: new, leaseTTL: .seconds(60))
            #expect(try await cluster.acquire(shards, incarnation: new).map(\.epoch) == [2, 2, 2, 2])
            #expect(try await cluster.heartbeat(incarnation: old, leaseTTL: .seconds(60)) == .replaced)
        }
    }

    @Test("machine ids are unique among live runners and a leaving runner's id is reused")
    func machineIds() async throws {
        try await TestDatabase.withStorage { (storage: PostgresStorage) async throws in
            let cluster = storage.cluster
            let incarnations = (0..<5).map { _ in UUID() }
            var ids: [Int] = []
            for (index, incarnation) in incarnations.enumerated() {
                ids.append(try await cluster.register(address: "127.0.0.1:\(7001 + index)", incarnation: incarnation,
                                                      leaseTTL: .seconds(60)))
            }
            #expect(ids == [0, 1, 2, 3, 4])
            try await cluster.deregister(incarnation: incarnations[2])
            #expect(try await cluster.register(address: "127.0.0.1:7100", incarnation: UUID(),
                                               leaseTTL: .seconds(60)) == 2)
        }
    }

    @Test("leaving releases every shard so that another runner takes them at once, and the status says stopped")
    func deregisterReleases() async throws {
        try await TestDatabase.withStorage { (storage: PostgresStorage) async throws in
            let cluster = storage.cluster
            let (a, b) = try await registerTwo(cluster)
            #expect(try await cluster.acquire(shards, incarnation: a).count == 4)
            try await cluster.deregister(incarnation: a)
            #expect(try await cluster.acquire(shards, incarnation: b).count == 4)

            let status = try await cluster.status()
            #expect(status.settings == ClusterSettings())
            #expect(status.runners.first { $0.incarnation == a }?.health == "stopped")
            #expect(status.runners.first { $0.incarnation == b }?.shards == 4)
            #expect(status.leases.count == 300)
            #expect(status.leases.filter { $0.owner == "127.0.0.1:7002" && $0.live }.map(\.shard) == shards)
        }
    }

    @Test("a fenced transaction commits under its lease, and commits nothing once the shard has moved on")
    func fencedTransactions() async throws {
        try await TestDatabase.withStorage { (storage: PostgresStorage) async throws in
            let cluster = storage.cluster
            try await storage.client.query("CREATE TABLE fenced (note text NOT NULL)")
            let (a, b) = try await registerTwo(cluster)
            let lease = try #require(try await cluster.acquire([shards[0]], incarnation: a).first)
            try await cluster.withFencedTransaction(lease) { connection in
                try await connection.query("INSERT INTO fenced VALUES ('under the lease')", logger: TestDatabase.logger)
            }

            _ = try await cluster.heartbeat(incarnation: a, leaseTTL: .milliseconds(1))
            try await storage.client.query("""
                SELECT pg_sleep(greatest(0, extract(epoch FROM expires_at - clock_timestamp())) + 0.001)
                FROM runners WHERE incarnation = \(a)
                """)
            #expect(try await cluster.acquire([shards[0]], incarnation: b).first?.epoch == 2)
            await #expect(throws: ShardLeaseLost.self) {
                try await cluster.withFencedTransaction(lease) { connection in
                    try await connection.query("INSERT INTO fenced VALUES ('zombie')", logger: TestDatabase.logger)
                }
            }
            #expect(try await storage.count("SELECT count(*)::int FROM fenced") == 1)
        }
    }

    @Test("a shard whose previous owner's fenced transaction is still open is skipped, then taken once it ends")
    func acquisitionSkipsFencedWrites() async throws {
        try await TestDatabase.withStorage { (storage: PostgresStorage) async throws in
            let cluster = storage.cluster
            try await storage.client.query("CREATE TABLE fenced (note text NOT NULL)")
            let (a, b) = try await registerTwo(cluster)
            let lease = try #require(try await cluster.acquire([shards[0]], incarnation: a).first)
            let (started, start) = AsyncStream.makeStream(of: Void.self)
            let (released, release) = AsyncStream.makeStream(of: Void.self)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await cluster.withFencedTransaction(lease) { connection in
                        try await connection.query("INSERT INTO fenced VALUES ('a')", logger: TestDatabase.logger)
                        start.yield()
                        for await _ in released { break }
                    }
                }
                for await _ in started { break }
                // Runner a expires while its transaction is open: b must neither take the shard nor wait for it.
                _ = try await cluster.heartbeat(incarnation: a, leaseTTL: .milliseconds(1))
                try await storage.client.query("""
                    SELECT pg_sleep(greatest(0, extract(epoch FROM expires_at - clock_timestamp())) + 0.001)
                    FROM runners WHERE incarnation = \(a)
                    """)
                #expect(try await cluster.acquire([shards[0], shards[1]], incarnation: b).map(\.shard) == [shards[1]])
                release.yield()
                try await group.waitForAll()
            }
            #expect(try await cluster.acquire([shards[0]], incarnation: b).map(\.epoch) == [2])
            #expect(try await storage.count("SELECT count(*)::int FROM fenced") == 1)
        }
    }
}
