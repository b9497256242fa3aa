import Foundation
import PostgresNIO
import Roost
import RoostPostgres
import RoostTesting
import Testing

@Suite("Message store")
struct MessageStoreTests {
    let shard = ShardID(group: "default", index: 7)

    private func call(_ requestID: String, entity: String = "a", arguments: [String] = ["1"]) -> PersistedCall {
        PersistedCall(address: EntityAddress(type: "Counter", id: entity), requestID: requestID, shard: shard,
                      target: "increment", generics: [], arguments: arguments.map { Data($0.utf8) })
    }

    /// Registers a runner and acquires the test's shard.
    private func holdShard(_ storage: PostgresStorage) async throws -> ShardLease {
        _ = try await storage.cluster.settings(proposing: ClusterSettings())
        let runner = UUID()
        _ = try await storage.cluster.register(address: "127.0.0.1:7001", incarnation: runner, leaseTTL: .seconds(60))
        return try #require(try await storage.cluster.acquire([shard], incarnation: runner).first)
    }

    @Test("a call is saved once per request id; a second save finds it pending, with its arguments")
    func savedOnce() async throws {
        try await TestDatabase.withStorage { (storage: PostgresStorage) async throws in
            let messages = storage.messages
            #expect(try await messages.accept(call("r1")) == .saved)
            #expect(try await messages.accept(call("r1", arguments: ["2"])) == .existing(.pending(call("r1"))))
            #expect(try await messages.accept(call("r1", entity: "b")) == .saved, "request ids are per entity")
            #expect(try await storage.count("SELECT count(*)::int FROM entity_messages") == 2)
        }
    }

    @Test("the reply is stored once under the held lease; the same request then gets that reply")
    func replyStoredOnce() async throws {
        try await TestDatabase.withStorage { (storage: PostgresStorage) async throws in
            let lease = try await holdShard(storage)
            let messages = storage.messages
            _ = try await messages.accept(call("r1"))
            let first = EntityReply(value: Data("5".utf8))
            #expect(try await messages.complete(call("r1").address, requestID: "r1", reply: first, lease: lease) == nil)
            let second = EntityReply(value: Data("6".utf8))
            #expect(try await messages.complete(call("r1").address, requestID: "r1", reply: second, lease: lease)
                    == first, "a second run's reply does not replace the first")
            #expect(try await messages.accept(call("r1")) == .existing(.completed(call("r1"), first)))
            let failure = EntityReply(error: EntityCallError(EntityCallError.failed, "no"))
            _ = try await messages.accept(call("r2"))
            _ = try await messages.complete(call("r2").address, requestID: "r2", reply: failure, lease: lease)
            #expect(try await messages.state(of: call("r2").address, requestID: "r2") == .completed(call("r2"), failure))
        }
    }

    @Test("a runner that lost the lease stores no reply: the call stays pending for the new owner")
    func fencedReply() async throws {
        try await TestDatabase.withStorage { (storage: PostgresStorage) async throws in
            let lease = try await holdShard(storage)
            let messages = storage.messages
            _ = try await messages.accept(call("r1"))
            let stale = ShardLease(shard: shard, epoch: lease.epoch - 1)
            await #expect(throws: ShardLeaseLost.self) {
                try await messages.complete(call("r1").address, requestID: "r1", reply: EntityReply(value: nil),
                                            lease: stale)
            }
            #expect(try await messages.state(of: call("r1").address, requestID: "r1") == .pending(call("r1")))
        }
    }

    @Test("pending calls are listed by shard and age, oldest first; old completed calls are purged")
    func pendingAndPurge() async throws {
        try await TestDatabase.withStorage { (storage: PostgresStorage) async throws in
            let lease = try await holdShard(storage)
            let messages = storage.messages
            for id in ["r1", "r2", "r3"] { _ = try await messages.accept(call(id)) }
            var elsewhere = call("r4")
            elsewhere.shard = ShardID(group: "default", index: 8)
            _ = try await messages.accept(elsewhere)
            _ = try await messages.complete(call("r2").address, requestID: "r2", reply: EntityReply(value: nil),
                                            lease: lease)
            #expect(try await messages.pending(in: [shard], olderThan: .zero, limit: 10).map(\.requestID) == ["r1", "r3"])
            #expect(try await messages.pending(in: [shard], olderThan: .zero, limit: 1).map(\.requestID) == ["r1"])
            #expect(try await messages.pending(in: [shard], olderThan: .seconds(3_600), limit: 10).isEmpty)
            #expect(try await messages.purge(completedBefore: .seconds(3_600), limit: 100) == 0)
            #expect(try await messages.purge(completedBefore: .zero, limit: 100) == 1)
            #expect(try await messages.state(of: call("r2").address, requestID: "r2") == nil)
        }
    }
}
