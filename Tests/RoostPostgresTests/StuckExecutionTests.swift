import Foundation
import PostgresNIO
import Roost
import RoostPostgres
import RoostTesting
import Testing

@Suite("Stuck executions")
struct StuckExecutionTests {
    @Test("an unfinished execution is stuck while no live runner holds its shard, or while it has no shard")
    func stuckWithoutOwner() async throws {
        try await TestDatabase.withStorage { (storage: PostgresStorage) async throws in
            let settings = try await storage.cluster.settings(proposing: ClusterSettings())
            let placed = Executions(store: storage.store, placement: ExecutionPlacement(settings: settings))
            let unplaced = Executions(store: storage.store)
            _ = try await placed.start(workflow: "Order", id: "placed", input: "{}")
            _ = try await unplaced.start(workflow: "Order", id: "unplaced", input: "{}")

            let stuck = try await storage.store.stuckExecutions(olderThan: .zero, limit: 10)
            #expect(Set(stuck.map(\.id)) == ["placed", "unplaced"])
            #expect(stuck.first { $0.id == "placed" }?.shard == settings.shard(for: "placed").index)
            #expect(stuck.first { $0.id == "unplaced" }?.shard == nil)
            #expect(try await storage.store.stuckExecutions(olderThan: .seconds(3_600), limit: 10).isEmpty,
                    "nothing is stuck before the threshold")

            let runner = UUID()
            _ = try await storage.cluster.register(address: "127.0.0.1:7001", incarnation: runner,
                                                   leaseTTL: .seconds(60))
            _ = try await storage.cluster.acquire(settings.allShards, incarnation: runner)
            #expect(try await storage.store.stuckExecutions(olderThan: .zero, limit: 10).map(\.id) == ["unplaced"],
                    "a held shard's execution is not stuck; one without a shard waits to be placed")
        }
    }
}
