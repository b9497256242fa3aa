import Foundation
import PostgresNIO
import Roost
import RoostPostgres
import RoostTesting
import Testing

/// Recovery that costs what is runnable: waiting executions stay in the database when their shard moves, and are
/// run only when something wakes them or they fall due — without losing a wake-up on the way.
@Suite("Recovery of waiting executions")
struct RecoveryTests {
    @Test("acquiring shards runs their running executions and leaves the waiting ones unclaimed in the database",
          .timeLimit(.minutes(2)))
    func acquisitionLeavesWaitingExecutions() async throws {
        try await withTestStorage { storage in
            let runner = try await HandDrivenRunner(storage: storage)
            let shards = HandDrivenRunner.settings.allShards
            var parking = noSafetyNets()
            parking.parkAfter = .milliseconds(20)
            let waiting = (0..<20).map { "waiting-\($0)-\(UUID())" }
            let first = runner.engine(parking)
            let firstEvents = EngineEvents(first)
            try await withRunningEngine(first) { engine in
                await engine.acquired(try await runner.acquire(shards))
                for id in waiting {
                    let key = try await engine.executions.start(AwaitValue.self, id: id, input: 0).record.key
                    try await firstEvents.first { $0 == .parked(key) }
                }
            }
            try await runner.release(shards)
            // A running execution whose runner died: the next owner must run it.
            let orphan = "running-\(UUID())"
            _ = try await storage.client.query("""
                INSERT INTO executions (workflow, id, status, input, attempt, shard)
                VALUES ('AwaitValue', \(orphan), 'running', '1', 1,
                        \(HandDrivenRunner.settings.shard(for: orphan).index))
                """)
            let before = try await storage.count("""
                SELECT count(*)::int FROM executions WHERE id = ANY(\(waiting)) AND status = 'waiting'
                """)
            #expect(before == waiting.count)
            let stamp = try await storage.client.query("""
                SELECT max(updated_at) FROM executions WHERE id = ANY(\(waiting))
                """).collect().first?.decode(Date.self)

            let second = runner.engine(noSafetyNets())
            let events = EngineEvents(second)
            try await withRunningEngine(second) { engine in
                let polled = Task { try await events.next { $0 == .polled } }
                await engine.acquired(try await runner.acquire(shards))
                _ = try await polled.value
                let key = try await engine.executions.status(workflow: "AwaitValue", id: orphan).key
                try await events.suspended(key)
                #expect(engine.hostedCount == 1, "only the running execution has a run in memory")
                let touched = try await storage.count("""
                    SELECT count(*)::int FROM executions
                    WHERE id = ANY(\(waiting)) AND (updated_at > \(stamp) OR attempt <> 1)
                    """)
                #expect(touched == 0, "no waiting execution was claimed")
                _ = try await engine.executions.resolve(AwaitValue.value, of: AwaitValue.self, id: waiting[3],
                                                        value: 5)
                #expect(try await engine.executions.result(of: AwaitValue.self, id: waiting[3]) == 5)
                #expect(try await engine.executions.status(workflow: "AwaitValue", id: waiting[3]).attempt == 1,
                        "waking a waiting execution is not a new attempt")
            }
        }
    }

    @Test("a resolve its hosting process would hand over in memory still wakes the execution on the next owner",
          .timeLimit(.minutes(2)))
    func inProcessResolveOutlivesItsProcess() async throws {
        try await withTestStorage { storage in
            let runner = try await HandDrivenRunner(storage: storage)
            let shards = HandDrivenRunner.settings.allShards
            let id = "handed-\(UUID())"
            let first = runner.engine(noSafetyNets())
            let firstEvents = EngineEvents(first)
            try await withRunningEngine(first) { engine in
                await engine.acquired(try await runner.acquire(shards))
                let key = try await engine.executions.start(AwaitValue.self, id: id, input: 0).record.key
                try await firstEvents.suspended(key)
                // What a resolve in the hosting process stores before it hands the value to the run in memory; the
                // process then dies before the run goes on.
                _ = try await storage.store.resolveDeferred(workflow: "AwaitValue", id: id, name: "value",
                                                            value: "6", by: nil, announce: false)
            }
            try await runner.release(shards)
            let second = runner.engine(noSafetyNets())
            try await withRunningEngine(second) { engine in
                await engine.acquired(try await runner.acquire(shards))
                #expect(try await engine.executions.result(of: AwaitValue.self, id: id) == 6)
            }
        }
    }

    @Test("a waiting execution's wake-up flag outlives the poll and the claim; parking clears it only if nothing came since the run's look")
    func wakeUpFlagStaysUntilActedOn() async throws {
        try await withTestStorage { storage in
            let store = storage.store
            let id = "flagged-\(UUID())"
            let rows = try await storage.client.query("""
                INSERT INTO executions (workflow, id, status, input, attempt)
                VALUES ('AwaitValue', \(id), 'waiting', '0', 1) RETURNING key
                """).collect()
            let key = try #require(try rows.first?.decode(ExecutionKey.self))
            let pending = "pending-\(UUID())"
            _ = try await storage.client.query("""
                INSERT INTO executions (workflow, id, status, input, attempt, wake_pending)
                VALUES ('AwaitValue', \(pending), 'pending', '0', 0, true)
                """)
            let workflows = ["AwaitValue"]
            _ = try await store.resolveDeferred(workflow: "AwaitValue", id: id, name: "value", value: "1", by: nil,
                                                announce: false)
            let taken = try await store.takeWakeUps(workflows: workflows, leases: nil)
            #expect(taken.contains(key))
            #expect(taken.count == 2, "the pending execution is taken too")
            let again = try await store.takeWakeUps(workflows: workflows, leases: nil)
            #expect(again == [key], "the waiting execution keeps its flag; the pending one's is cleared")
            let claimed = try #require(try await store.claimExecution(key: key, workflows: workflows, shards: nil))
            #expect(claimed.wakeMark.flagged)
            #expect(try await store.takeWakeUps(workflows: workflows, leases: nil) == [key])
            // A resolve after the claim's look: parking with that look leaves the flag.
            _ = try await store.resolveDeferred(workflow: "AwaitValue", id: id, name: "other", value: "2", by: nil,
                                                announce: false)
            try await store.settleWakeUp(key: key, seen: claimed.wakeMark)
            #expect(try await store.takeWakeUps(workflows: workflows, leases: nil) == [key])
            let look = try await store.waitState(key: key, deferred: "value")
            try await store.settleWakeUp(key: key, seen: look.wakeMark)
            #expect(try await store.takeWakeUps(workflows: workflows, leases: nil).isEmpty)
        }
    }

    @Test("a parked sleep far from its due time leaves nothing in memory; the poll reads it back by its due time and it fires no earlier",
          .timeLimit(.minutes(2)))
    func dueTimeReadBackFromTheDatabase() async throws {
        try await withTestStorage { storage in
            var configuration = WorkflowEngine.Configuration()
            configuration.parkAfter = .milliseconds(100)
            configuration.pollInterval = .milliseconds(200)
            let engine = WorkflowEngine(store: storage.store, registry: testRegistry(), configuration: configuration,
                                        logger: TestDatabase.logger)
            let events = EngineEvents(engine)
            try await withRunningEngine(engine) { engine in
                // Due well beyond the poll's look-ahead (100 ms + two polls + 1 s) when it parks, and when the
                // count is read after it, however loaded the machine.
                let id = "far-\(UUID())"
                let key = try await engine.executions.start(TwoSleeps.self, id: id,
                                                            input: .init(first: 15_000, second: 0)).record.key
                try await events.first { $0 == .parked(key) }
                #expect(engine.parkedCount == 0, "nothing of the sleep is in memory")
                let output = try await engine.executions.result(of: TwoSleeps.self, id: id, timeout: .seconds(60))
                let due = try #require(try await storage.store.journal(key: key).first?.dueAt)
                #expect(output.firstReturned >= due)
                #expect(try await engine.executions.status(workflow: "TwoSleeps", id: id).attempt == 1)
            }
        }
    }
}
