import Foundation
import PostgresNIO
import Roost
import RoostExamples
import RoostPostgres
import RoostTesting
import Testing

/// An activity whose body, on its first run only, reports the checkpoint named after the execution and then waits
/// for the checkpoint `<id>/go` that the test reaches; later runs go straight through.
struct HoldInActivity: Workflow {
    func run(_ input: Int, context: WorkflowContext) async throws -> Int {
        try await context.activity("hold") { tx in
            if countRun(context.executionId) == 1 {
                Checkpoints.reach(context.executionId)
                await Checkpoints.reached(context.executionId + "/go")
            }
            try await tx.query("INSERT INTO marks VALUES (\(context.executionId), 'hold')")
        }
        return input
    }
}

/// No safety nets: no poll and no reconciliation within a test's time, so a test proves the path it names.
func noSafetyNets() -> WorkflowEngine.Configuration {
    var configuration = noPoll()
    configuration.reconcileInterval = .seconds(3600)
    configuration.parkAfter = nil
    return configuration
}

@Suite("Executions when shards move")
struct ShardHandOffTests {
    @Test("a run fenced out after its runner took the shard back at a new epoch is run again at the new epoch",
          .timeLimit(.minutes(2)))
    func reacquiredShard() async throws {
        try await withTestStorage { storage in
            let runner = try await HandDrivenRunner(storage: storage)
            let engine = runner.engine(noSafetyNets())
            let events = EngineEvents(engine)
            try await withRunningEngine(engine) { engine in
                let id = "reacquired-\(UUID())"
                let shard = HandDrivenRunner.settings.shard(for: id)
                await engine.acquired(try await runner.acquire(HandDrivenRunner.settings.allShards))
                _ = try await engine.executions.start(HoldInActivity.self, id: id, input: 7)
                await Checkpoints.reached(id)
                // The runner detaches from the shard and takes it back while the first run is still in its body:
                // its shard manager stops waiting for the run before its leases would expire.
                let stopping = Task { await engine.stopping([shard]) }
                try await events.first { if case .awaitingRuns = $0 { true } else { false } }
                stopping.cancel()
                await stopping.value
                try await runner.release([shard])
                let polled = Task { try await events.next { $0 == .polled } }
                await engine.acquired(try await runner.acquire([shard]))
                // The acquisition scan has listed the execution while its old run is still in memory.
                _ = try await polled.value
                Checkpoints.reach(id + "/go")
                let record = try await engine.executions.result(workflow: "HoldInActivity", id: id,
                                                                 timeout: .seconds(60))
                #expect(record.status == .completed)
                #expect(runs(id) == 2, "the fenced-out body, then its replay at the new epoch")
                let marks = try await storage.count("SELECT count(*)::int FROM marks WHERE execution_id = \(id)")
                #expect(marks == 1)
            }
        }
    }

    @Test("the reconciliation runs a running execution of a held shard that no run in memory works on",
          .timeLimit(.minutes(2)))
    func reconciliation() async throws {
        try await withTestStorage { storage in
            let runner = try await HandDrivenRunner(storage: storage)
            var configuration = noSafetyNets()
            configuration.reconcileInterval = .milliseconds(100)
            let engine = runner.engine(configuration)
            let events = EngineEvents(engine)
            try await withRunningEngine(engine) { engine in
                let polled = Task { try await events.next { $0 == .polled } }
                await engine.acquired(try await runner.acquire(HandDrivenRunner.settings.allShards))
                _ = try await polled.value
                // A start on the holder whose run was lost with a shard move: stored running, never announced.
                let id = "orphan-\(UUID())"
                let shard = HandDrivenRunner.settings.shard(for: id).index
                _ = try await storage.client.query("""
                    INSERT INTO executions (workflow, id, status, input, attempt, shard)
                    VALUES ('Order', \(id), 'running', '{"orderId": "o-1", "amount": 3}', 1, \(shard))
                    """)
                let record = try await engine.executions.result(workflow: "Order", id: id, timeout: .seconds(60))
                #expect(record.status == .completed)
            }
        }
    }

    @Test("a runner that has not noticed losing a shard leaves the new owner's wake-up flags alone",
          .timeLimit(.minutes(2)))
    func staleRunnerKeepsFlags() async throws {
        try await withTestStorage { storage in
            let stale = try await HandDrivenRunner(storage: storage)
            var configuration = noSafetyNets()
            configuration.pollInterval = .milliseconds(20)
            let engine = stale.engine(configuration)
            let events = EngineEvents(engine)
            try await withRunningEngine(engine) { engine in
                let id = "flagged-\(UUID())"
                let shard = HandDrivenRunner.settings.shard(for: id)
                await engine.acquired(try await stale.acquire(HandDrivenRunner.settings.allShards))
                // The shard moves to another runner; the stale one has not heard yet.
                try await stale.release([shard])
                let owner = try await HandDrivenRunner(storage: storage, address: "127.0.0.1:7002")
                #expect(try await owner.acquire([shard]).count == 1)
                let client = Executions(store: storage.store, placement: ExecutionPlacement(
                    settings: HandDrivenRunner.settings))
                _ = try await client.start(Order.self, id: id, input: .init(orderId: id, amount: 1))
                try await events.next { $0 == .polled }
                try await events.next { $0 == .polled }
                let flagged = try await storage.count("""
                    SELECT count(*)::int FROM executions WHERE id = \(id) AND wake_pending
                    """)
                #expect(flagged == 1, "the stale runner's poll cleared the new owner's flag")
            }
        }
    }
}

@Suite("Shards leaving an engine")
struct ShardLeavingTests {
    @Test("stopping a shard returns only once its runs have ended: an activity in progress is journaled, not run again by the next owner",
          .timeLimit(.minutes(2)))
    func stoppingWaitsForRuns() async throws {
        try await withTestStorage { storage in
            let runner = try await HandDrivenRunner(storage: storage)
            let engine = runner.engine(noSafetyNets())
            let events = EngineEvents(engine)
            try await withRunningEngine(engine) { engine in
                let id = "handed-over-\(UUID())"
                let shard = HandDrivenRunner.settings.shard(for: id)
                await engine.acquired(try await runner.acquire(HandDrivenRunner.settings.allShards))
                _ = try await engine.executions.start(HoldInActivity.self, id: id, input: 3)
                await Checkpoints.reached(id)
                let stopping = Task { () -> Int in
                    await engine.stopping([shard])
                    return engine.hostedCount
                }
                // Stopping waits for the run in its activity; the activity then ends.
                try await events.first { if case .awaitingRuns = $0 { true } else { false } }
                Checkpoints.reach(id + "/go")
                let hostedWhenStopped = await stopping.value
                #expect(hostedWhenStopped == 0)
                // The next owner (this runner again, at a new epoch) finds the activity journaled.
                try await runner.release([shard])
                await engine.acquired(try await runner.acquire([shard]))
                let record = try await engine.executions.result(workflow: "HoldInActivity", id: id,
                                                                 timeout: .seconds(60))
                #expect(record.status == .completed)
                #expect(runs(id) == 1, "the activity's body ran once")
            }
        }
    }

    @Test("the parked runs of a shard that leaves are forgotten, and the parked count says so", .timeLimit(.minutes(2)))
    func parkedRunsLeaveWithTheirShard() async throws {
        // A sleep due within the poll's look-ahead (two hour-long poll intervals): its due time stays in memory.
        try await withTestStorage { storage in
            let runner = try await HandDrivenRunner(storage: storage)
            var configuration = noSafetyNets()
            configuration.parkAfter = .milliseconds(20)
            let engine = runner.engine(configuration)
            let events = EngineEvents(engine)
            try await withRunningEngine(engine) { engine in
                let id = "parked-\(UUID())"
                let shard = HandDrivenRunner.settings.shard(for: id)
                await engine.acquired(try await runner.acquire(HandDrivenRunner.settings.allShards))
                let started = try await engine.executions.start(TwoSleeps.self, id: id,
                                                                input: .init(first: 600_000, second: 0))
                try await events.first { $0 == .parked(started.record.key) }
                #expect(engine.parkedCount == 1)
                await engine.stopping([shard])
                #expect(engine.parkedCount == 0)
            }
        }
    }
}
