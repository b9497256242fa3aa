import Foundation
import PostgresNIO
import Roost
import RoostClient
import RoostExamples
import RoostPostgres
import RoostTesting
import Testing

@Suite("Workflow executions on a cluster of roost runner processes", .serialized)
struct WorkflowClusterTests {
    @Test("three runners share executions by shard; after kill -9 of one, the others finish its executions, each effect once")
    func killMovesExecutions() async throws {
        try await withProcesses { harness in
            let client = harness.client
            let runners = try await harness.startCluster(3)
            _ = try await harness.awaitAssignment(to: runners.map(\.address))
            let orders = (0..<60).map { "order-\($0)" }
            let pipelines = (0..<20).map { "pipeline-\($0)" }
            let approvals = (0..<20).map { "approval-\($0)" }
            for id in pipelines {
                _ = try await client.start(Pipeline.self, id: id, input: .init(steps: 2, sleepMs: 800))
            }
            for id in approvals {
                _ = try await client.start(Approval.self, id: id, input: .init(requestId: id, coolOffMs: 200))
            }
            for id in orders { _ = try await client.start(Order.self, id: id, input: .init(orderId: id, amount: 1)) }
            _ = try await client.result(of: Order.self, id: orders[0], timeout: .seconds(60))
            let victim = runners[0]
            await victim.process.kill9()
            for id in approvals {
                try await client.resolve(Approval.decision, of: Approval.self, id: id,
                                         value: .init(approved: true, by: "ops"))
            }
            for id in orders {
                _ = try await client.result(of: Order.self, id: id, timeout: .seconds(60))
                try require(try await harness.effects(id) == ["reserve": 1, "charge": 1, "confirm": 1], "\(id) once")
            }
            for id in pipelines {
                _ = try await client.result(of: Pipeline.self, id: id, timeout: .seconds(60))
                try require(try await harness.effects(id) == ["step-1": 1, "step-2": 1], "\(id) once")
            }
            for id in approvals {
                _ = try await client.result(of: Approval.self, id: id, timeout: .seconds(60))
                try require(try await harness.effects(id) == ["submit": 1, "apply": 1], "\(id) once")
            }
            // Every runner ran executions of its own shards only, and the victim's were resumed elsewhere.
            var ranOn: [String: Int] = [:]
            for runner in runners {
                let finished = runner.process.output.split(separator: "\n")
                    .filter { $0.contains("execution finished") }
                ranOn[runner.address] = finished.count
                for line in finished {
                    guard let id = line.split(separator: " ").first(where: { $0.hasPrefix("roost.execution=") })?
                        .dropFirst("roost.execution=".count) else { continue }
                    try require(harness.owner(of: String(id), among: runners) == runner.address
                                || runner.address != victim.address,
                                "\(id) finished on \(runner.address), which does not own its shard")
                }
            }
            try require(ranOn.values.filter { $0 > 0 }.count >= 2, "executions ran on several runners: \(ranOn)")
            // Taken over: journaled by two runners (a waiting execution that moves is woken, not re-attempted).
            let moved = try await harness.count("""
                SELECT count(*)::int FROM executions e WHERE (
                    SELECT count(DISTINCT written_by) FROM journal j WHERE j.execution = e.key) > 1
                """)
            try require(moved > 0, "some executions of the killed runner were resumed by another")
        }
    }

    @Test("a start and a resolve through RoostClient reach the shard's owner by notification, with the poll an hour away")
    func clientStartAndResolveNotifyTheOwner() async throws {
        try await withProcesses { harness in
            // Runners whose batched poll never comes during the test: only notifications can reach them.
            let slowPoll = ["ROOST_POLL_INTERVAL_MS": "3600000"]
            let runners = [try await harness.startClusterRunner("slow-1", environment: slowPoll),
                           try await harness.startClusterRunner("slow-2", environment: slowPoll)]
            _ = try await harness.awaitAssignment(to: runners.map(\.address))
            let ids = (0..<10).map { "notified-\($0)" }
            for id in ids {
                _ = try await harness.client.start(Approval.self, id: id, input: .init(requestId: id, coolOffMs: 0))
            }
            try await harness.awaitCount("""
                SELECT count(*)::int FROM executions WHERE id = ANY(\(ids)) AND status = 'waiting'
                """, atLeast: ids.count)
            for id in ids {
                try await harness.client.resolve(Approval.decision, of: Approval.self, id: id,
                                                 value: .init(approved: true, by: "notified"))
            }
            for id in ids {
                let decision = try await harness.client.result(of: Approval.self, id: id, timeout: .seconds(60))
                try require(decision.by == "notified", "\(id) completed")
            }
        }
    }

    @Test("roost workflow list and roost cluster status flag an execution whose shard no runner holds")
    func stuckIsFlagged() async throws {
        try await withProcesses { harness in
            _ = try await harness.storage.cluster.settings(proposing: ClusterSettings())
            _ = try await harness.client.start(Order.self, id: "nobody-runs-me", input: .init(orderId: "o", amount: 1))
            let list = try await harness.roost(["workflow", "list", "--stuck-after", "0"])
            try require(list.status == 0 && list.output.contains("stuck: no runner holds shard"), list.output)
            let status = try await harness.roost(["cluster", "status", "--stuck-after", "0"])
            try require(status.output.contains("stuck executions (no live runner holds their shard for 0 s): 1")
                        && status.output.contains("Order/nobody-runs-me"), status.output)
            let runners = try await harness.startCluster(1)
            _ = try await harness.awaitAssignment(to: runners.map(\.address))
            _ = try await harness.client.result(of: Order.self, id: "nobody-runs-me", timeout: .seconds(60))
            let after = try await harness.roost(["workflow", "list", "--stuck-after", "0"])
            try require(!after.output.contains("stuck"), "a runner took it: \(after.output)")
        }
    }

    @Test("a runner SIGSTOPped mid-sleep past its lease and resumed while its executions still run elsewhere writes nothing: it stops or its lease refuses its writes")
    func pausedRunnerIsFenced() async throws {
        try await withProcesses { harness in
            let client = harness.client
            let runners = try await harness.startCluster(3, leaseTTL: "1")
            _ = try await harness.awaitAssignment(to: runners.map(\.address))
            let paused = runners[0]
            // Pipelines whose shard the paused runner holds: they sleep there when it stops.
            var ids: [String] = []
            var candidate = 0
            while ids.count < 5 {
                if harness.owner(of: "paused-\(candidate)", among: runners) == paused.address {
                    ids.append("paused-\(candidate)")
                }
                candidate += 1
            }
            // Long sleeps between steps: the new owners are still running them when the paused runner resumes.
            for id in ids { _ = try await client.start(Pipeline.self, id: id, input: .init(steps: 3, sleepMs: 4_000)) }
            try await paused.process.waitForLine(containing: "roost.workflow=Pipeline [Roost] execution suspended",
                                                 count: ids.count)
            paused.process.signal(SIGSTOP)
            _ = try await harness.awaitAssignment(to: runners.dropFirst().map(\.address))
            // The new owners have taken every execution over and run its second step.
            try await harness.awaitCount("""
                SELECT count(*)::int FROM example_effects WHERE execution_id = ANY(\(ids)) AND step = 'step-2'
                """, atLeast: ids.count)
            let running = try await harness.count("""
                SELECT count(*)::int FROM executions WHERE id = ANY(\(ids)) AND status IN ('running', 'waiting')
                """)
            paused.process.signal(SIGCONT)
            try require(running == ids.count, "every execution was still running elsewhere when the runner resumed")
            // Resumed, it wakes from its sleeps with stale leases while the executions are still running or
            // waiting: the status guard lets its writes through, the lease fence refuses them.
            try await paused.process.waitForLine(containing: "runner detached from its shards")
            try await paused.process.waitForLine(containing: "runner joined the cluster", count: 2)
            for id in ids {
                _ = try await client.result(of: Pipeline.self, id: id, timeout: .seconds(60))
                try require(try await harness.effects(id) == ["step-1": 1, "step-2": 1, "step-3": 1],
                            "\(id) effects once")
            }
            let audit = try await ClusterAudit.read(harness.storage)
            try require(audit.unfencedEntries == 0, "journal writes without the shard's lease: \(audit)")
            // Each of its runs stopped on noticing the shard had left, or on a write the lease refused while the
            // execution was still running or waiting; none because the execution had finished meanwhile.
            let reasons = paused.process.output.split(separator: "\n").filter { $0.contains("execution run stopped") }
                .flatMap { $0.split(separator: " ").filter { $0.hasPrefix("roost.reason=") } }
            try require(reasons.allSatisfy { ["roost.reason=moved", "roost.reason=lost(Optional(running))",
                                              "roost.reason=lost(Optional(waiting))"].contains($0) },
                        "\(reasons)")
        }
    }
}
